"""The vocabulary every option group of ``ccneg-build`` declares its flags in.

An option group (LLM, images, visual check) is a module that lists its flags as
:data:`FlagSpec` and refuses a setting that cannot work with :class:`ConfigError`. It lives
below :mod:`ccneg_build.config`, which composes the groups, so a group never imports the
config that imports it.
"""

from __future__ import annotations

from typing import Any

#: (flags, argparse keyword arguments): how option groups (LLM, image, visual) declare their flags.
FlagSpec = tuple[tuple[str, ...], dict[str, Any]]


class ConfigError(ValueError):
    """A setting that cannot work; the message says which flag and what to do."""


def flag_dest(flags: tuple[str, ...], kwargs: dict[str, Any]) -> str:
    """The ``options`` key of one flag: its ``dest``, else argparse's rule (``--top-p`` -> ``top_p``)."""
    return kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")


def flag_dests(specs: list[FlagSpec]) -> set[str]:
    """The ``options`` keys of a group's flags."""
    return {flag_dest(flags, kwargs) for flags, kwargs in specs}
