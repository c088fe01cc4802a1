"""The model registry: ``--model KIND:BODY`` spec strings, one line per kind.

The built-in kinds are the lines of :data:`MODEL_KINDS` (open_clip, hf, conclip, text);
``ccneg-bench --help`` lists each with what it loads, read from the kinds themselves.

Each kind is one :class:`~ccneg_bench.models.kind.ModelKind` (loader, argument check, content
identity, default ``--pretrained``, notes, help) in its own module. Adding a kind is that module
plus one line in :data:`MODEL_KINDS`; an installed package adds one with an entry point in the
group ``ccneg_bench.models`` whose value has the same ``module:ATTRIBUTE`` form (the attribute
may also be a bare ``load(body, pretrained=None, device="cpu")`` function). Modules are imported
only when their kind is used, so this registry imports no torch (the command lines build their
``--help`` from it). Importable API (also used by ``ccneg_bench.train``)::

    from ccneg_bench.models.registry import load_model
    adapter = load_model("open_clip:ViT-B-32", pretrained="openai", device="cuda")
    adapter.torch_module()          # the nn.Module (open_clip CLIP for open_clip/conclip kinds)
    adapter.image_transform()       # PIL -> tensor
    adapter.encode_texts(["a dog"]) # unnormalised features
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ccneg_bench.models.kind import ModelKind, Note
from ccneg_bench.models.weights import fingerprint_of
from ccneg_core.registry import Registry

if TYPE_CHECKING:  # the adapter base class imports torch; the registry must not
    from ccneg_bench.models.base import ModelAdapter

#: spec kind -> "module:ATTRIBUTE" of its :class:`ModelKind`, in the order ``--help`` lists them
MODEL_KINDS = Registry("model kind", {
    "open_clip": "ccneg_bench.models.open_clip_kind:KIND",
    "hf": "ccneg_bench.models.hf_kind:KIND",
    "conclip": "ccneg_bench.models.conclip_kind:KIND",
    "text": "ccneg_bench.models.text_kind:KIND",
})

ENTRY_POINT_GROUP = "ccneg_bench.models"


class UnknownModelError(ValueError):
    """The spec names no known kind; the message lists the kinds that exist."""


def _installed() -> dict[str, str]:
    """Kinds that installed packages add (entry points), as ``module:ATTRIBUTE`` targets."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def model_kinds() -> dict[str, str]:
    """Every kind and its target: the built-in ones first (they win a name clash), then installed ones."""
    installed = {name: target for name, target in _installed().items() if name not in MODEL_KINDS}
    return {**MODEL_KINDS, **installed}


def known_kinds() -> list[str]:
    """Every spec kind: the built-in ones and those installed packages add."""
    return sorted(model_kinds())


def parse_spec(spec: str) -> tuple[str, str]:
    """``"open_clip:ViT-B-32"`` -> ``("open_clip", "ViT-B-32")``."""
    kind, sep, body = spec.partition(":")
    if not sep or not body:
        forms = ", ".join(get_kind(name).usage for name in MODEL_KINDS)
        raise UnknownModelError(f"model spec {spec!r} is not KIND:NAME; known kinds: {', '.join(known_kinds())} "
                                f"(e.g. {forms})")
    return kind, body


def get_kind(name: str) -> ModelKind:
    """The :class:`ModelKind` registered as ``name`` (its module is imported now)."""
    table = MODEL_KINDS if name in MODEL_KINDS else Registry("model kind", _installed())  # built-ins first
    if name not in table:
        raise UnknownModelError(f"unknown model kind {name!r}; known kinds: {', '.join(known_kinds())}")
    target = table[name]
    found = table.load(name)
    if isinstance(found, ModelKind):
        return found
    if callable(found):  # an installed package's bare loader: a kind with the default checks
        return ModelKind(load=found, usage=f"{name}:...")
    raise TypeError(f"model kind {name!r} ({target}) is neither a ModelKind nor a load function")


def _kind_of(spec: str) -> tuple[ModelKind, str]:
    kind, body = parse_spec(spec)
    return get_kind(kind), body


def load_model(spec: str, pretrained: str | None = None, device: str = "cpu") -> "ModelAdapter":
    """Load the model a spec names, on ``device``, in eval mode."""
    kind, body = _kind_of(spec)
    adapter = kind.load(body, pretrained=pretrained, device=device)
    if not adapter.spec:
        adapter.spec = spec
    return adapter


def check_model(spec: str, pretrained: str | None) -> None:
    """Raise ``UsageError`` or ``WeightsUnavailable`` for a spec that cannot load, before loading it."""
    kind, body = _kind_of(spec)
    kind.check(body, pretrained)


def resolve_pretrained(spec: str, pretrained: str | None) -> str | None:
    """The ``--pretrained`` a model spec gets: the given value, else its kind's default.

    The default is ``openai`` for an open_clip architecture name, nothing for every other
    spec (exported folders and Hub ids carry their weights; a config JSON means random weights).
    """
    if pretrained is not None:
        return pretrained
    kind, body = _kind_of(spec)
    return kind.default_pretrained(body)


def model_identity(spec: str, pretrained: str | None) -> dict | None:
    """What the features of a spec depend on, from files and names, or None when only the built model knows."""
    kind, body = _kind_of(spec)
    return kind.identity(body, pretrained)


def model_fingerprint(spec: str, pretrained: str | None) -> str | None:
    """The feature-cache key of a spec, without building the model (None: only the built model knows).

    Equal to ``load_model(spec, pretrained).fingerprint()`` whenever it is not None.
    """
    identity = model_identity(spec, pretrained)
    return fingerprint_of(identity) if identity is not None else None


def model_notes(spec: str, pretrained: str | None) -> list[Note]:
    """What to tell the user about a spec before the run (random weights, a likely activation mismatch)."""
    kind, body = _kind_of(spec)
    return kind.notes(body, pretrained)


def is_remote(spec: str, pretrained: str | None) -> bool:
    """True when the spec's weights come from the Hub and may change without a local file changing."""
    kind, body = _kind_of(spec)
    return kind.remote(body, pretrained)


def kinds_help() -> str:
    """The ``model specs`` section of ``--help``: each built-in kind's form and what it loads."""
    lines = ["model specs:"]
    for name in MODEL_KINDS:
        kind = get_kind(name)
        text = kind.help.splitlines() or [""]
        lines.append(f"  {kind.usage:<22}{text[0]}".rstrip())
        lines.extend(f"  {'':<22}{line}" for line in text[1:])
    lines.append(f'  (more kinds via the Python entry-point group "{ENTRY_POINT_GROUP}")')
    return "\n".join(lines)
