"""The model registry: one table from spec kind to loader (``KIND:BODY`` spec strings).

Built-in kinds::

    open_clip:ARCH            --pretrained TAG|PATH|none; ARCH may be a config JSON or an
                              exported folder (open_clip_config.json + *.safetensors)
    hf:ORG/NAME               transformers CLIP / SigLIP (AutoModel + AutoProcessor)
    conclip:PATH              released CoN-CLIP .pt ({"model": OpenAI-CLIP state dict})
    text:negation-words       text-only baseline (never looks at the image)

Third parties add kinds through the entry-point group ``ccneg_bench.models``: an entry point
named ``mykind`` pointing at a callable ``load(body, pretrained=None, device="cpu") ->
ModelAdapter`` makes ``--model mykind:...`` work. In-process, :func:`register_model_kind`
does the same. Importable API (also used by ``ccneg_bench.train``)::

    from ccneg_bench.models import load_model
    adapter = load_model("open_clip:ViT-B-32", pretrained="openai", device="cuda")
    adapter.torch_module()          # the nn.Module (open_clip CLIP for open_clip/conclip kinds)
    adapter.image_transform()       # PIL -> tensor
    adapter.encode_texts(["a dog"]) # unnormalised features
"""

from __future__ import annotations

from typing import Any, Callable

from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.checkpoints import CheckpointError

ENTRY_POINT_GROUP = "ccneg_bench.models"

Loader = Callable[..., ModelAdapter]


def _open_clip(body: str, **kw: Any) -> ModelAdapter:
    from ccneg_bench.models.open_clip_models import load_open_clip

    return load_open_clip(body, **kw)


def _hf(body: str, **kw: Any) -> ModelAdapter:
    from ccneg_bench.models.hf import load_hf

    return load_hf(body, **kw)


def _conclip(body: str, **kw: Any) -> ModelAdapter:
    from ccneg_bench.models.conclip import load_conclip

    return load_conclip(body, **kw)


def _text(body: str, **kw: Any) -> ModelAdapter:
    from ccneg_bench.models.text_baseline import load_text_baseline

    return load_text_baseline(body, **kw)


_BUILTIN: dict[str, Loader] = {"open_clip": _open_clip, "hf": _hf, "conclip": _conclip, "text": _text}
_REGISTERED: dict[str, Loader] = {}


class UnknownModelError(ValueError):
    """The spec names no known kind; the message lists the kinds that exist."""


def register_model_kind(kind: str, loader: Loader) -> None:
    """Add (or replace) a spec kind in this process."""
    _REGISTERED[kind] = loader


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_kinds() -> list[str]:
    """Every spec kind: built-ins, in-process registrations and installed entry points."""
    return sorted(set(_BUILTIN) | set(_REGISTERED) | set(_entry_points()))


def parse_spec(spec: str) -> tuple[str, str]:
    """``"open_clip:ViT-B-32"`` -> ``("open_clip", "ViT-B-32")``."""
    kind, sep, body = spec.partition(":")
    if not sep or not body:
        raise UnknownModelError(
            f"model spec {spec!r} is not KIND:NAME; known kinds: {', '.join(known_kinds())} "
            "(e.g. open_clip:ViT-B-32, hf:openai/clip-vit-base-patch32, conclip:PATH, text:negation-words)"
        )
    return kind, body


def get_loader(kind: str) -> Loader:
    if kind in _REGISTERED:
        return _REGISTERED[kind]
    if kind in _BUILTIN:
        return _BUILTIN[kind]
    eps = _entry_points()
    if kind in eps:
        return eps[kind].load()
    raise UnknownModelError(f"unknown model kind {kind!r}; known kinds: {', '.join(known_kinds())}")


def load_model(spec: str, pretrained: str | None = None, device: str = "cpu") -> ModelAdapter:
    """Load the model a spec names, on ``device``, in eval mode."""
    kind, body = parse_spec(spec)
    adapter = get_loader(kind)(body, pretrained=pretrained, device=device)
    if not adapter.spec:
        adapter.spec = spec
    return adapter


__all__ = [
    "ModelAdapter",
    "CheckpointError",
    "UnknownModelError",
    "ENTRY_POINT_GROUP",
    "known_kinds",
    "load_model",
    "parse_spec",
    "register_model_kind",
]
