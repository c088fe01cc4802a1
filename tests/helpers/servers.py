"""Servers that tests start, watched so that a dead server is named as the cause of a failure.

A server that dies in the middle of a test (a llama.cpp build that hits an illegal instruction,
a handler thread that crashed) otherwise shows up as a counting assertion far away from the
cause ("assert 0 >= 20"). Every server a test starts registers here; the root ``conftest.py``
checks every registered server after each test's setup and call, and turns any failure into
"<server> died: <exit status>" with the tail of its log.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable, Protocol


class Watched(Protocol):
    """Anything that can say whether it died, and why (None while it is alive)."""

    def death(self) -> str | None: ...


_WATCHED: list[Watched] = []


def watch(server: Watched) -> None:
    """Check ``server`` after every test phase until :func:`unwatch`."""
    _WATCHED.append(server)


def unwatch(server: Watched) -> None:
    if server in _WATCHED:
        _WATCHED.remove(server)


def deaths() -> list[str]:
    """A message for every watched server that is no longer alive."""
    return [message for server in list(_WATCHED) if (message := server.death())]


def describe_exit(returncode: int) -> str:
    """``-4`` -> ``"SIGILL (Illegal instruction)"``; ``3`` -> ``"exit status 3"``."""
    if returncode < 0:
        try:
            sig = signal.Signals(-returncode)
        except ValueError:
            return f"signal {-returncode}"
        return f"{sig.name} ({signal.strsignal(sig)})"
    return f"exit status {returncode}"


def log_tail(path: Path | None, lines: int = 25) -> str:
    if path is None or not Path(path).exists():
        return "(no log)"
    text = Path(path).read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


class WatchedProcess:
    """A server running as a subprocess, with its log file."""

    def __init__(self, name: str, proc: subprocess.Popen, log_path: Path | None) -> None:
        self.name, self.proc, self.log_path = name, proc, log_path
        self.stopping = False

    def death(self) -> str | None:
        if self.stopping or self.proc.poll() is None:
            return None
        return (f"{self.name} died with {describe_exit(self.proc.returncode)}; "
                f"last lines of its log ({self.log_path}):\n{log_tail(self.log_path)}")

    def assert_alive(self) -> None:
        message = self.death()
        if message:
            raise AssertionError(message)


class WatchedThread:
    """A server running in a thread of the test process (it dies with an exception, not a signal)."""

    def __init__(self, name: str, thread: threading.Thread, stopped: Callable[[], bool] = lambda: False) -> None:
        self.name, self.thread, self.stopped = name, thread, stopped

    def death(self) -> str | None:
        if self.stopped() or self.thread.is_alive() or self.thread.ident is None:
            return None
        return f"{self.name} (thread {self.thread.name}) is no longer running; see the test output for its exception"
