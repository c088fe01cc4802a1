"""Worker processes end when the main process dies, even by ``kill -9``.

A worker that outlived its parent would keep writing shards into a folder that a new run
may already be writing. Two independent guards, set up first thing in every worker:

* Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when its
  parent dies;
* everywhere: a daemon thread waits on the pipe that ``multiprocessing`` keeps to the
  parent (the parent's *sentinel*, which becomes readable when the parent is gone) and
  ends the worker then; without one it polls the parent's pid.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def tie_to_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` (the process that started it) dies."""
    _parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the guard was in place
        os._exit(1)
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    target = (lambda: _wait_on_pipe(sentinel)) if sentinel is not None else (lambda: _poll_parent(parent_pid))
    threading.Thread(target=target, name="ccneg-parent-watchdog", daemon=True).start()


def _parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no usable libc: the watchdog still guards
        pass


def _wait_on_pipe(sentinel: int) -> None:
    from multiprocessing.connection import wait

    wait([sentinel])  # returns when the parent's end of the pipe closes: the parent is gone
    os._exit(1)


def _poll_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)
