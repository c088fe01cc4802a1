"""A server that dies during a test is named as the cause of the failure (tests.helpers.servers)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.servers import WatchedProcess, describe_exit

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]

#: a stand-in for a llama.cpp build that hits an instruction the kernel does not allow
DIES_WITH_SIGILL = "import os, signal, sys; print('loading model', flush=True); os.kill(os.getpid(), signal.SIGILL)"


def test_a_process_killed_by_sigill_is_described_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-c", DIES_WITH_SIGILL], stdout=handle, stderr=subprocess.STDOUT)
        proc.wait(30)
    message = WatchedProcess("llama.cpp server", proc, log).death()
    assert message is not None
    assert message.startswith("llama.cpp server died with SIGILL (Illegal instruction)")
    assert "loading model" in message


def test_a_live_process_has_no_death(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert WatchedProcess("server", proc, None).death() is None
    finally:
        proc.kill()
        proc.wait()


def test_exit_descriptions() -> None:
    assert describe_exit(3) == "exit status 3"
    assert describe_exit(-9).startswith("SIGKILL")


def test_a_failing_count_is_replaced_by_the_dead_server(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the suite's own hooks: the report names SIGILL, not the count that failed."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest("from tests.conftest import *  # noqa: F401,F403\n")
    pytester.makepyfile(textwrap.dedent(f'''
        import subprocess, sys
        from tests.helpers.servers import WatchedProcess, watch

        def test_counts(tmp_path):
            log = tmp_path / "server.log"
            with open(log, "w") as handle:
                proc = subprocess.Popen([sys.executable, "-c", {DIES_WITH_SIGILL!r}], stdout=handle, stderr=subprocess.STDOUT)
            watch(WatchedProcess("llama.cpp server", proc, log))
            proc.wait(30)
            served = 0
            assert served >= 20
    '''))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=",
                                           f"--rootdir={pytester.path}", "--import-mode=importlib")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a server this test started is dead*", "*llama.cpp server died with SIGILL*"])
