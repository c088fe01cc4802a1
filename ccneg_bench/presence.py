"""The presence scorers: the two kinds of model that can say whether an object is in an image.

What a presence check means (prompt, scale, thresholds) and how ``ccneg-build`` finds this
module without importing ccneg_bench (an entry point) is :mod:`ccneg_core.presence`; this
module is the provider registered there, with :func:`check` and :func:`load`.

* :class:`ChoiceScorer`: any ccneg-bench model spec (open_clip, hf CLIP/SigLIP, conclip,
  registered kinds). Score = the softmax probability of "a photo of a {object}." among the
  same prompt for the row's distractor objects, at CLIP's logit scale. Prompt features are
  computed once per distinct object and reused across the dataset.
* :class:`DetectorScorer`: ``hf-detector:ID``, an open-vocabulary detector from transformers
  (OWL-ViT, OWLv2: ``AutoModelForZeroShotObjectDetection``). Score = the best box's
  probability for the object's prompt; the distractors are not needed.

Both take batches of decoded RGB images and run on ``--device`` at ``--precision`` (the
names and rules of every command: :mod:`ccneg_core.devices`; by default the GPU when there
is one). Their ``identity`` changes whenever their scores could (weights, prompt, scale, a
half precision), and keys the score cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Sequence

from ccneg_bench.models.registry import UnknownModelError, get_kind, load_model, parse_spec
from ccneg_core.devices import DEFAULT_PRECISION, autocast, resolve_device, resolve_precision
from ccneg_core.presence import DETECTOR_PREFIX, LOGIT_SCALE, PROMPT, is_detector


def _with_precision(identity: dict[str, Any], precision: str) -> str:
    """The identity as JSON; a half precision is part of it (fp32, the old only one, is not)."""
    return json.dumps(identity if precision == "fp32" else dict(identity, precision=precision))


class ChoiceScorer:
    """A CLIP-like model choosing the object among distractor objects."""

    needs_distractors = True

    def __init__(self, spec: str, pretrained: str | None, device: str, precision: str = DEFAULT_PRECISION) -> None:
        self.adapter = load_model(spec, pretrained=pretrained, device=device)
        self.device = device
        self.precision = resolve_precision(precision, self.adapter.device)
        self.transform = self.adapter.image_transform()
        self._texts: dict[str, Any] = {}

    @property
    def identity(self) -> str:
        return _with_precision({"kind": "choice", "model": self.adapter.fingerprint(), "prompt": PROMPT,
                                "scale": LOGIT_SCALE}, self.precision)

    def _text_features(self, objects: Sequence[str]) -> None:
        import torch

        missing = sorted({o for o in objects if o not in self._texts})
        for start in range(0, len(missing), 256):
            chunk = missing[start:start + 256]
            with autocast(self.adapter.device, self.precision):
                features = self.adapter.encode_texts([PROMPT.format(o) for o in chunk]).float()
            features = torch.nn.functional.normalize(features, dim=-1)
            self._texts.update(zip(chunk, features))

    def score(self, images: Sequence[Any], objects: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[float]:
        import torch

        with torch.no_grad():
            pixels = torch.stack([self.transform(image) for image in images]).to(self.adapter.device)
            with autocast(self.adapter.device, self.precision):
                encoded = self.adapter.encode_images(pixels)
            features = torch.nn.functional.normalize(encoded.float(), dim=-1)
            self._text_features([o for o in objects] + [c for row in candidates for c in row])
            scores = []
            for feature, obj, others in zip(features, objects, candidates):
                texts = torch.stack([self._texts[obj]] + [self._texts[c] for c in others])
                logits = LOGIT_SCALE * (texts @ feature)
                scores.append(float(torch.softmax(logits, dim=0)[0]))
        return scores


class DetectorScorer:
    """An open-vocabulary detector: the best box score for the object's prompt."""

    needs_distractors = False

    def __init__(self, model_id: str, revision: str | None, device: str, precision: str = DEFAULT_PRECISION) -> None:
        from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

        options: dict[str, Any] = {"revision": revision} if revision and not os.path.isdir(model_id) else {}
        self.model_id = model_id
        self.processor = AutoProcessor.from_pretrained(model_id, **options)
        self.model = AutoModelForZeroShotObjectDetection.from_pretrained(model_id, use_safetensors=True, **options)
        self.model.to(device).eval()
        self.device = device
        self.precision = resolve_precision(precision, device)
        self.revision = revision
        text_config = getattr(self.model.config, "text_config", None)
        self.max_text_length = int(getattr(text_config, "max_position_embeddings", 16))

    @property
    def identity(self) -> str:
        return _with_precision({"kind": "detector", "model": self.model_id, "revision": self.revision,
                                "weights": _folder_identity(self.model_id), "prompt": PROMPT}, self.precision)

    def score(self, images: Sequence[Any], objects: Sequence[str], candidates: Sequence[Sequence[str]]) -> list[float]:
        import torch

        texts = [[PROMPT.format(o)] for o in objects]
        # one query per image, padded to the text tower's length (the processor stacks per-image encodings)
        inputs = self.processor(text=texts, images=list(images), return_tensors="pt", truncation=True,
                                padding="max_length", max_length=self.max_text_length)
        inputs = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in inputs.items()}
        with torch.no_grad(), autocast(torch.device(self.device), self.precision):
            logits = self.model(**inputs).logits  # (images, boxes, queries): one query per image
        return [float(v) for v in torch.sigmoid(logits[..., 0].float()).max(dim=1).values]


def _folder_identity(path: str) -> str | None:
    """Names, sizes and mtimes of a local model folder's files (None for a Hub id)."""
    if not os.path.isdir(path):
        return None
    entries = []
    for name in sorted(os.listdir(path)):
        stat = os.stat(os.path.join(path, name))
        entries.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:16]


def check(model: str) -> None:
    """Refuse a spec that cannot score images, before loading anything: a ``ValueError`` saying
    why, which the caller prefixes with its flag and the spec."""
    if is_detector(model):
        if not model[len(DETECTOR_PREFIX):].strip():
            raise ValueError("hf-detector:ID needs a model id or folder (e.g. hf-detector:google/owlv2-base-patch16)")
        return
    try:
        get_kind(parse_spec(model)[0])
    except UnknownModelError as err:
        raise ValueError(f"{err} (or hf-detector:ID for a detector)") from None
    if model.startswith("text:"):
        raise ValueError("a text-only model cannot look at images")


def load(model: str, pretrained: str | None, device: str, precision: str = DEFAULT_PRECISION) -> ChoiceScorer | DetectorScorer:
    """The scorer ``model`` names (a bench model spec or ``hf-detector:ID``), on ``device``."""
    device = resolve_device(device)
    if is_detector(model):
        return DetectorScorer(model[len(DETECTOR_PREFIX):], pretrained, device, precision)
    return ChoiceScorer(model, pretrained, device, precision)
