"""A model that is built only when a feature is missing from the cache.

Loading a CLIP model (importing open_clip, building the towers, reading the weights) is most of
a rerun's time when every feature is already cached. The feature cache is keyed by the
adapter's :meth:`~ccneg_bench.models.base.ModelAdapter.fingerprint`, the hash of the weights'
content: for kinds whose identity is known from files and names (open_clip, conclip, text) it
is computed without building anything (:func:`ccneg_bench.models.registry.model_fingerprint`). What else
a run needs before encoding (``describe()``, whether the model looks at images, its text context
length) is recorded by the first build in ``CACHE/models/<key>.json``, keyed by that content
fingerprint (for other kinds by the spec, the ``pretrained`` value, the path, size and mtime of
every local file they name) and the ccneg / open_clip / transformers versions. A later run finds
it there and builds nothing unless an encoder is actually called. The token counts of cached
captions are cached with their features (:mod:`ccneg_bench.features`), so that a warm run still
reports truncated captions exactly.

Specs whose weights come from the Hugging Face Hub (``hf:ORG/NAME``, ``open_clip:hf-hub:...``) can
change without any local file changing, so they are never memoised: they are always built.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import torch

from ccneg_bench.models.registry import is_remote, load_model, model_fingerprint
from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.weights import file_identity
from ccneg_core.writer import atomic_write_text

MEMO_FOLDER = "models"


def _local_identity(value: str) -> list[str] | None:
    """Identities of the local file(s) ``value`` names, [] when it names none."""
    if not value or not os.path.exists(value):
        return []
    if os.path.isdir(value):
        return [file_identity(os.path.join(value, f)) for f in sorted(os.listdir(value))
                if os.path.isfile(os.path.join(value, f))]
    return [file_identity(value)]


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("ccneg", "open_clip_torch", "transformers"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def memo_key(spec: str, pretrained: str | None, fingerprint: str | None = None) -> str | None:
    """The key of a build's memo, or None when the spec cannot be memoised safely."""
    if is_remote(spec, pretrained):
        return None
    body = spec.partition(":")[2]
    if fingerprint is not None:  # the weights' content: an edited file gets a new key
        payload: list[Any] = [spec, fingerprint, _versions()]
    else:
        payload = [spec, pretrained, _local_identity(body), _local_identity(pretrained or ""), _versions()]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


#: what a memo must hold (an older memo without a key is ignored: the model is built once more)
MEMO_KEYS = frozenset({"fingerprint", "description", "needs_images", "context_length"})


class LazyModel(ModelAdapter):
    """Stands in for the adapter ``load_model(spec, pretrained, device)`` returns, building it on first use.

    The spec is what results name (``model``, ``model_info.spec``), whatever the built adapter calls itself.
    """

    def __init__(self, spec: str, pretrained: str | None, device: str,
                 cache_root: str | os.PathLike | None) -> None:
        super().__init__()
        self.spec = spec
        self.pretrained = pretrained
        self.device = torch.device(device)
        self._inner: ModelAdapter | None = None
        #: known from the files for most kinds; otherwise learnt from the first build
        self._content_fingerprint = model_fingerprint(spec, pretrained)
        key = memo_key(spec, pretrained, self._content_fingerprint) if cache_root else None
        self._memo_path = Path(os.path.expanduser(str(cache_root))) / MEMO_FOLDER / f"{key}.json" if key else None
        self._memo = self._read_memo()

    @property
    def built(self) -> bool:
        """Whether the real model has been built in this process."""
        return self._inner is not None

    def _read_memo(self) -> dict[str, Any] | None:
        if self._memo_path is None or not self._memo_path.exists():
            return None
        try:
            memo = json.loads(self._memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return memo if isinstance(memo, dict) and MEMO_KEYS <= set(memo) else None

    def model(self) -> ModelAdapter:
        """The real adapter (built now if it was not yet), with its fingerprint memoised."""
        if self._inner is None:
            self._inner = load_model(self.spec, pretrained=self.pretrained, device=str(self.device))
            self.device = self._inner.device
            if self._memo_path is not None:
                memo = {"spec": self.spec, "pretrained": self.pretrained, "fingerprint": self._inner.fingerprint(),
                        "description": self._inner.describe(), "needs_images": self._inner.needs_images,
                        "context_length": self._inner.context_length}
                atomic_write_text(self._memo_path, json.dumps(memo, default=str))
                self._memo = json.loads(json.dumps(memo, default=str))
        return self._inner

    @property
    def needs_images(self) -> bool:  # type: ignore[override]
        return bool(self._memo["needs_images"]) if self._memo and self._inner is None else self.model().needs_images

    def describe(self) -> dict[str, Any]:
        return dict(self._memo["description"]) if self._memo and self._inner is None else self.model().describe()

    def fingerprint(self) -> str:
        if self._content_fingerprint is not None:
            return self._content_fingerprint
        return str(self._memo["fingerprint"]) if self._memo and self._inner is None else self.model().fingerprint()

    @property
    def context_length(self) -> int | None:  # type: ignore[override]
        if self._memo and self._inner is None:
            return self._memo["context_length"]
        return self.model().context_length

    def token_lengths(self, texts: list[str]) -> list[int] | None:
        return self.model().token_lengths(texts) if texts else []

    def text_input_keys(self, texts: list[str]) -> list[bytes] | None:
        return self.model().text_input_keys(texts) if texts else []

    def image_transform(self) -> Callable[[Any], torch.Tensor]:
        return self.model().image_transform()

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model().encode_images(pixels)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        return self.model().encode_texts(texts)

    def text_lengths(self, texts: list[str]) -> list[int]:
        return self.model().text_lengths(texts) if texts else []

    def torch_module(self) -> torch.nn.Module | None:
        return self.model().torch_module()

    def _move(self, device: torch.device) -> None:
        if self._inner is not None:
            self._inner.to(device)
