"""Devices and precisions: one set of names, defaults, checks and rules for every command.

``ccneg-build`` (its ``--verify-visual`` model), ``ccneg-bench`` and ``ccneg-train`` all run a
model somewhere at some precision. They take the same ``--device`` and ``--precision``
values, with the same defaults, the same help text and the same one-line errors, because
all of them come from here:

* devices: ``auto`` (the default: ``cuda`` when a GPU is visible, else ``cpu``), ``cpu``,
  ``cuda`` (the current GPU, resolved to ``cuda:N``), ``cuda:N``, ``mps``;
* precisions: ``auto`` (the default: bf16 autocast on a CUDA GPU that supports it, else
  fp16; fp32 everywhere else), ``fp32``, ``bf16`` (autocast on CUDA or the CPU), ``fp16``
  (autocast, CUDA only). ``amp`` is accepted as another name for ``auto``.

Importing this module does not import torch: ``ccneg-build`` shows these flags in a data-only
install. torch is imported only to check that a GPU exists or to resolve ``auto``.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from typing import Any

#: The default of ``--device`` and ``--precision`` in every command.
DEFAULT_DEVICE = "auto"
DEFAULT_PRECISION = "auto"
#: The ``--precision`` names, the default first; and the spellings that mean one of them.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PRECISION_ALIASES = {"amp": "auto"}

DEVICE_HELP = ("auto (cuda when a GPU is visible, else cpu), cpu, cuda (the current GPU), cuda:N or mps "
               "(default: auto)")
PRECISION_HELP = ("auto (bf16 autocast on a CUDA GPU that supports it, else fp16; fp32 on the CPU and mps), "
                  "fp32, bf16 (autocast; CUDA or CPU), fp16 (autocast; CUDA only); amp is another name "
                  "for auto (default: auto)")

_DEVICE_SPELLING = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


class DeviceError(ValueError):
    """A ``--device`` or ``--precision`` value that cannot work here (a usage error, exit 2)."""


def device_flag(dest: str = "device", default: str | None = DEFAULT_DEVICE) -> tuple[tuple[str, ...], dict[str, Any]]:
    """``--device`` as (flags, argparse keyword arguments); checked later by :func:`check_device`.

    ``default=None`` leaves the option out of the parsed values unless it is given (it still
    means ``auto``): ``ccneg-build`` keeps unset options out of a run's stored settings.
    """
    return ("--device",), dict(dest=dest, default=default, metavar="DEVICE", help=DEVICE_HELP)


def precision_flag(dest: str = "precision",
                   default: str | None = DEFAULT_PRECISION) -> tuple[tuple[str, ...], dict[str, Any]]:
    """``--precision`` as (flags, argparse keyword arguments); checked later by :func:`check_precision`."""
    return ("--precision",), dict(dest=dest, default=default, metavar="PRECISION", help=PRECISION_HELP)


def add_device_argument(parser: Any) -> None:
    """Add ``--device`` to ``parser`` (or an argument group)."""
    flags, kwargs = device_flag()
    parser.add_argument(*flags, **kwargs)


def add_device_arguments(parser: Any) -> None:
    """``--device`` and ``--precision``, with the same defaults, help and checks in every command."""
    for flags, kwargs in (device_flag(), precision_flag()):
        parser.add_argument(*flags, **kwargs)


def check_device(device: str | None) -> str:
    """The device ``device`` names, unresolved (``None`` means ``auto``); :class:`DeviceError` if unusable.

    Checked before any model loads: torch's own failure for ``--device cuda`` on a machine
    without a GPU is a long traceback from deep inside the first transfer.
    """
    name = DEFAULT_DEVICE if device is None else device
    if not _DEVICE_SPELLING.match(name):
        raise DeviceError(f"--device {name}: not a device; use {_DEVICE_CHOICES}")
    if name in ("auto", "cpu"):
        return name
    import torch

    if name == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise DeviceError(f"--device {name}: Apple MPS is not available here; use --device cpu")
        return name
    if not torch.cuda.is_available():
        raise DeviceError(f"--device {name}: no CUDA GPU is visible on this machine "
                          "(torch.cuda.is_available() is False); use --device cpu")
    count = torch.cuda.device_count()
    index = torch.device(name).index
    if index is not None and index >= count:
        raise DeviceError(f"--device {name}: this machine has {count} CUDA GPU(s) (cuda:0 .. cuda:{count - 1})")
    return name


def precision_name(precision: str | None) -> str:
    """The canonical name of a ``--precision`` spelling (``None`` and ``amp`` mean ``auto``)."""
    name = DEFAULT_PRECISION if precision is None else PRECISION_ALIASES.get(precision, precision)
    if name not in PRECISIONS:
        raise DeviceError(f"--precision {precision}: not a precision; use {_listing(PRECISIONS)}")
    return name


def check_precision(precision: str | None, device: str | None = None) -> str:
    """The canonical precision name, refused when the device (checked first) cannot run it."""
    name = precision_name(precision)
    kind = device_type(check_device(device))
    allowed = _allowed(kind)
    if name not in allowed:
        raise DeviceError(f"--precision {precision}: not available on {kind} (fp16 needs a CUDA GPU, bf16 a CUDA "
                          f"GPU or the CPU); use {_listing(allowed)}")
    return name


def _listing(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def _allowed(kind: str) -> tuple[str, ...]:
    if kind == "cuda":
        return PRECISIONS
    if kind == "cpu":
        return ("auto", "fp32", "bf16")
    return ("auto", "fp32")


def device_type(device: str | None) -> str:
    """``cuda``, ``cpu`` or ``mps``: what ``device`` runs on (``auto`` looks for a GPU)."""
    name = DEFAULT_DEVICE if device is None else device
    if name == "auto":
        return resolve_device(name).split(":")[0]
    return name.split(":")[0]


def resolve_device(device: str | None) -> str:
    """The concrete device: ``auto`` -> ``cuda:N`` when a GPU is visible else ``cpu``; ``cuda`` -> ``cuda:N``.

    ``N`` is the current CUDA device (``torch.cuda.current_device()``, which a launcher such
    as torchrun sets per process), so every command names the GPU it used the same way.
    """
    name = DEFAULT_DEVICE if device is None else device
    if name not in ("auto", "cuda"):
        return name
    import torch

    if name == "auto" and not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{torch.cuda.current_device()}"


def resolve_precision(precision: str | None, device: Any) -> str:
    """``fp32``, ``bf16`` or ``fp16``: the precision a (resolved) device runs under ``precision``.

    ``device`` is a torch device or its name. ``auto`` is bf16 on a CUDA GPU that supports it
    (fp16 on one that does not) and fp32 elsewhere; the other names are taken as given (they
    were checked against the device by :func:`check_precision`).
    """
    name = precision_name(precision)
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if name != "auto":
        return name
    if kind != "cuda":
        return "fp32"
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def autocast(device: Any, precision: str) -> Any:
    """The context a model runs in at a resolved ``precision`` on a torch ``device`` (fp32: none)."""
    resolved = resolve_precision(precision, device)
    if resolved == "fp32":
        return nullcontext()
    import torch

    kind = getattr(device, "type", None) or str(device).split(":")[0]
    return torch.autocast(device_type=kind, dtype=torch.bfloat16 if resolved == "bf16" else torch.float16)


__all__ = [
    "DEFAULT_DEVICE", "DEFAULT_PRECISION", "PRECISIONS", "PRECISION_ALIASES", "DEVICE_HELP",
    "PRECISION_HELP", "DeviceError", "device_flag", "precision_flag", "add_device_argument", "add_device_arguments",
    "check_device", "check_precision", "precision_name", "device_type", "resolve_device", "resolve_precision",
    "autocast",
]

