"""A command whose reader goes away ends quietly: ``ccneg-build reasons | head -1``.

When the process reading our stdout exits early (``head``, ``less`` quit, a closed socket),
the next write or the final flush raises :class:`BrokenPipeError`. That is not a failure of
the command, so it must not print a traceback (nor Python's "Exception ignored ... Broken pipe"
note at exit). Defined once, here in the package every command imports, and applied to the
``main`` of ``ccneg-build``, ``ccneg-bench`` and ``ccneg-train``, so every subcommand of theirs
is covered too.
"""

from __future__ import annotations

import functools
import io
import os
import sys
from typing import Callable, TypeVar

#: 128 + SIGPIPE: the status a shell reports for a writer whose reader went away.
EXIT_BROKEN_PIPE = 141

Main = TypeVar("Main", bound=Callable[..., int])


def _silence_stdout() -> None:
    """Point stdout at the null device, so the flush at interpreter exit has somewhere to go."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # stdout replaced in-process
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def quiet_on_closed_pipe(main: Main) -> Main:
    """Wrap an entry point: a closed output pipe ends it with :data:`EXIT_BROKEN_PIPE`, silently.

    stdout is flushed before returning, so buffered output meets a closed pipe here, where it
    can be handled, rather than at interpreter exit. ``SystemExit`` (``--help``, usage errors)
    passes through unchanged.
    """

    @functools.wraps(main)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            try:
                return main(*args, **kwargs)
            finally:
                sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE

    return wrapper  # type: ignore[return-value]
