"""What ccneg knows about one kind of ``--model KIND:BODY`` spec, in one object.

A kind's module defines one :class:`ModelKind` and the registry (:data:`ccneg_bench.models.registry.MODEL_KINDS`)
names it in one line. Everything that depends on the kind reads it from there: the loader, the
argument check that runs before anything is loaded, the content identity the feature cache is
keyed by (so that a warm rerun finds its features without building the model), the default
``--pretrained``, the notes printed before a run, and the ``--help`` text. Nothing else in
ccneg parses a spec's body.

This module imports nothing heavy: the command lines build their help from these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:  # the adapter base class imports torch; a kind's description must not
    from ccneg_bench.models.base import ModelAdapter

#: ``("note" | "warning", one line)``: said on stderr before a run, after every check passed
Note = tuple[Literal["note", "warning"], str]


def accept_any(body: str, pretrained: str | None) -> None:
    """The default check: the loader itself reports what is wrong."""


def identity_unknown(body: str, pretrained: str | None) -> dict[str, Any] | None:
    """The default identity: only known once the model is built (the cache key comes from it)."""
    return None


def no_default(body: str) -> str | None:
    """The default ``--pretrained``: none."""
    return None


def no_notes(body: str, pretrained: str | None) -> list[Note]:
    """The default: nothing to say before a run."""
    return []


def local_only(body: str, pretrained: str | None) -> bool:
    """The default: the weights are local files (or fixed), they cannot change behind our back."""
    return False


@dataclass(frozen=True)
class ModelKind:
    """One spec kind. Only :attr:`load` is required; every other field has a safe default.

    Every callable takes the spec's body (what follows ``KIND:``) and the ``--pretrained``
    value after the default was applied (``None`` when there is none).
    """

    #: ``load(body, pretrained=None, device="cpu") -> ModelAdapter`` in eval mode on ``device``
    load: Callable[..., "ModelAdapter"]
    #: the spec's form in ``--help``, e.g. ``open_clip:ARCH``
    usage: str = ""
    #: what the kind loads, for ``--help`` (may hold line breaks)
    help: str = ""
    #: raise ``UsageError`` (exit 2) or ``WeightsUnavailable`` (exit 1) for a spec that cannot
    #: load, from files and names alone: it runs before any model or data is loaded
    check: Callable[[str, str | None], None] = accept_any
    #: everything that determines the features, by content (a weights file's SHA-256, a
    #: published tag, a seed), computed without building the model; None when only the built
    #: model knows it. Equal to the loaded adapter's ``identity()``: it keys the feature cache
    identity: Callable[[str, str | None], dict[str, Any] | None] = identity_unknown
    #: the ``--pretrained`` a spec gets when none is given
    default_pretrained: Callable[[str], str | None] = no_default
    #: notes and warnings worth one line each before a run (random weights, a likely mismatch)
    notes: Callable[[str, str | None], list[Note]] = no_notes
    #: True when the weights come from the Hub and may change without any local file changing:
    #: what the built model reported is then never reused by a later run
    remote: Callable[[str, str | None], bool] = local_only
