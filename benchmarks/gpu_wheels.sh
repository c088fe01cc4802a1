#!/usr/bin/env bash
# Download, on a machine with PyPI, the wheels that gpu_check.sh installs on an air-gapped GPU node.
#
#   bash benchmarks/gpu_wheels.sh            # -> benchmarks/gpu_wheels/ (ignored by git)
#   bash benchmarks/gpu_wheels.sh DIR
#
# The node is assumed to have Python 3.12 on x86-64 Linux with torch, torchvision, transformers,
# pyarrow and pandas, and therefore their dependencies (numpy, pillow, huggingface_hub,
# safetensors, regex, tqdm, pyyaml, filelock, fsspec). The training path of ccneg imports nothing
# else at module level (spaCy and datasets are imported only by the build side and by Hub
# loading, which the check does not touch), so the wheels are open_clip and what open_clip needs
# beyond that: ftfy (its text cleaning) with wcwidth, and timm (about 5 MiB in all; wcwidth's
# wheel is compiled for CPython 3.10+ abi3, the rest are pure Python). torch is never downloaded. The versions are the ones the check was verified with, in a Python 3.12
# environment holding only these wheels, torch and the node's other packages.
#
# DIR/requirements.txt pins them; gpu_check.sh installs exactly that list with
#   pip install --no-index --no-deps --find-links DIR --target SITE -r DIR/requirements.txt
# DIR is replaced only once every wheel is downloaded.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEST="${1:-$HERE/gpu_wheels}"
PYTHON="${PYTHON:-python3}"
LIMIT_MIB=64
PACKAGES=(
  open_clip_torch==3.3.0
  ftfy==6.3.1
  wcwidth==0.9.5
  timm==1.0.31
)

STAGING="$DEST.partial"
rm -rf "$STAGING"
mkdir -p "$STAGING"
"$PYTHON" -m pip download --quiet --only-binary=:all: --no-deps \
  --python-version 3.12 --platform manylinux2014_x86_64 --dest "$STAGING" "${PACKAGES[@]}"
printf '%s\n' "${PACKAGES[@]}" > "$STAGING/requirements.txt"

if find "$STAGING" -iname 'torch-*' -o -iname 'torchvision-*' | grep -q .; then
  echo "gpu_wheels: a torch wheel was downloaded; the node brings its own torch" >&2
  exit 1
fi
bytes="$(du -sb "$STAGING" | cut -f1)"
if (( bytes > LIMIT_MIB * 1024 * 1024 )); then
  echo "gpu_wheels: $((bytes / 1024 / 1024)) MiB is over the ${LIMIT_MIB} MiB that travels with the working tree" >&2
  exit 1
fi

rm -rf "$DEST"
mv "$STAGING" "$DEST"
ls -1 "$DEST"
echo "gpu_wheels: $(($(ls "$DEST"/*.whl | wc -l))) wheels, $(du -sh "$DEST" | cut -f1) in $DEST"
