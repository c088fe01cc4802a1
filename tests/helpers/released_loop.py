"""An independent restatement of the released CC-Neg evaluation loop (the reference).

It imports nothing from ccneg, so a mistake ccneg makes everywhere (in its reader, its
tokenization, its tie rule) cannot hide here. What the release does, restated:

* load ``ccneg_preprocessed.pt`` (here with ``torch.load(weights_only=True)``) and keep the last
  40,000 rows (``[-40000:]``: a smaller file is kept whole);
* per row: open the image with PIL and apply the model's preprocessing; the true caption is
  ``annotation["json"]["caption"]``; the negated caption is ``sop_data["negative-prompt"]`` with
  every comma removed;
* per batch: encode images, captions and negated captions (the model's own tokenizer, cut at
  its context length), L2-normalise, ``logit_scale * image @ text.T`` for both, take the two
  diagonals, stack them as ``[true, negated]``, ``argmax``; index 0 is correct, so an exact tie
  counts as correct.

Used by the exactness test and, through :func:`released_scores`, by
``benchmarks/bench_eval.py`` as the speed baseline.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

RELEASED_FILE = "ccneg_preprocessed.pt"
NUM_EVAL_SAMPLES = 40_000


def load_open_clip_model(config_json: Path, weights: Path) -> tuple[torch.nn.Module, Any, Any]:
    """(model, preprocess, tokenizer) of an open_clip config JSON with safetensors weights."""
    import open_clip
    from safetensors.torch import load_file

    config_json = Path(config_json)
    name = f"reference-{config_json.stem}"
    if name not in open_clip.list_models():
        copy = Path(tempfile.gettempdir()) / f"{name}-{os.getpid()}" / f"{name}.json"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(config_json.read_text(encoding="utf-8"), encoding="utf-8")
        open_clip.add_model_config(copy)
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None)
    model.load_state_dict(load_file(str(weights)))
    return model.eval(), preprocess, open_clip.get_tokenizer(name)


class _Pairs(Dataset):
    def __init__(self, images: Sequence[Any], captions: Sequence[str], negated: Sequence[str], preprocess: Any) -> None:
        self.images, self.captions, self.negated, self.preprocess = images, captions, negated, preprocess

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str]:
        source = self.images[index]
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        return self.preprocess(image.convert("RGB")), self.captions[index], self.negated[index]


def _unit(features: torch.Tensor) -> torch.Tensor:
    return features / features.norm(dim=-1, keepdim=True)


@torch.no_grad()
def released_scores(model: torch.nn.Module, preprocess: Any, tokenizer: Any, images: Sequence[Any],
                    captions: Sequence[str], negated: Sequence[str], batch_size: int = 64,
                    workers: int = 0) -> list[bool]:
    """Per sample: does ``argmax([true, negated])`` pick the true caption? (images: paths or bytes)"""
    loader = DataLoader(_Pairs(images, captions, negated, preprocess), batch_size=batch_size, shuffle=False,
                        num_workers=workers)
    correct: list[bool] = []
    model.eval()
    for pixels, true_texts, negated_texts in loader:
        image_features = _unit(model.encode_image(pixels))
        caption_features = _unit(model.encode_text(tokenizer(list(true_texts))))
        negated_features = _unit(model.encode_text(tokenizer(list(negated_texts))))
        similarity_true = model.logit_scale * image_features @ caption_features.T
        similarity_negated = model.logit_scale * image_features @ negated_features.T
        stacked = torch.stack([torch.diagonal(similarity_true), torch.diagonal(similarity_negated)], dim=1)
        correct.extend(bool(choice == 0) for choice in stacked.argmax(dim=1))
    return correct


def released_eval_rows(folder: Path) -> tuple[list[Path], list[str], list[str], list[str]]:
    """(image files, true captions, negated captions, keys) of the release's eval rows."""
    folder = Path(folder)
    data = torch.load(folder / RELEASED_FILE, map_location="cpu", weights_only=True)
    paths = data["image_paths"][-NUM_EVAL_SAMPLES:]
    annotations = data["annotations"][-NUM_EVAL_SAMPLES:]
    images = [folder / ("ccneg_images/" + path.split("ccneg_images/", 1)[1]) for path in paths]
    captions = [a["json"]["caption"] for a in annotations]
    negated = [a["sop_data"]["negative-prompt"].replace(",", "") for a in annotations]
    keys = [a["json"]["key"] for a in annotations]
    return images, captions, negated, keys


def released_loop(folder: Path, model: torch.nn.Module, preprocess: Any, tokenizer: Any,
                  batch_size: int = 64) -> tuple[list[str], list[bool]]:
    """(keys, per-sample correctness) of the released evaluation on the release in ``folder``."""
    images, captions, negated, keys = released_eval_rows(folder)
    return keys, released_scores(model, preprocess, tokenizer, images, captions, negated, batch_size)
