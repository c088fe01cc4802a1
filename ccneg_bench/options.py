"""Command-line pieces that ``ccneg-bench`` and every ``ccneg-train`` command share.

One definition each of: the ``--pretrained`` default and its help text, the integer checks,
a help formatter that shows a default only when there is one, and a
parser whose errors are a single line (``--device`` and ``--precision``, which ``ccneg-build``
shares, are defined in :mod:`ccneg_core.devices`). Everything here runs before any model or data is
loaded, so a typo costs a fraction of a second instead of a model load.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: What ``--pretrained`` means when it is not given (the same in every command).
PRETRAINED_HELP = (
    "weights: an open_clip tag (openai, laion2b_s34b_b79k, ...), a local weights file "
    "(.safetensors or .pt), or 'none' for random weights; for ccneg-bench's hf: models a Hub revision. "
    "Default: 'openai' for an open_clip architecture name (the paper's weights; needs the Hub "
    "or a local copy), the folder's own weights for an exported model folder, random weights "
    "for a model-config JSON"
)


class UsageError(ValueError):
    """A command-line value that cannot work (exit status 2)."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and appends ``(default: X)`` only when it says something.

    argparse's own defaults formatter prints "(default: None)" for options without a default
    and repeats defaults that the help text already states.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default in (None, False, argparse.SUPPRESS, [], ())
            or action.option_strings == []
        ):
            return text
        return f"{text} (default: {default})"


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer of at least 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (got {value})")
    return value


def positive_float(text: str) -> float:
    """argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 (got {text})")
    return value


def check_option(condition: bool, message: str) -> None:
    """Raise :class:`UsageError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise UsageError(message)


def exit_status(err: Exception) -> int:
    """The exit status of a failed ``ccneg-bench`` command: 2 for bad arguments or input, 1 for
    I/O and network failures (the arguments were fine, the world was not)."""
    return 2 if isinstance(err, (ValueError, FileNotFoundError, NotADirectoryError)) else 1


def print_note(message: str, stream: Any = None) -> None:
    """One ``note:`` line on stderr (never mixed into stdout summaries)."""
    print(f"note: {message}", file=stream or sys.stderr)
