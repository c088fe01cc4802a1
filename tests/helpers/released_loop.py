"""A plain re-implementation of the released CC-Neg evaluation loop (the reference).

Per batch: encode the images, the true captions and the negated captions; L2-normalise;
build the full B x B similarity matrices image-vs-caption and image-vs-negated; take their
diagonals; a sample is correct when its true caption scores strictly higher. Images are
opened with PIL and ``.convert("RGB")`` in a map-style Dataset, as the release does. Used by
the exactness test and by ``benchmarks/bench_eval.py`` as the speed baseline.
"""

from __future__ import annotations

import io
import os
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ccneg_bench.datasets.base import EvalDataset


class ReleasedPairs(Dataset):
    def __init__(self, dataset: EvalDataset, preprocess: Any) -> None:
        self.dataset = dataset
        self.preprocess = preprocess
        self.refs = dataset.images.read_refs(0, len(dataset.images))

    def __len__(self) -> int:
        return len(self.dataset.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str, str]:
        ref = self.refs[index]
        if ref.get("bytes"):
            image = Image.open(io.BytesIO(ref["bytes"]))
        else:
            image = Image.open(os.path.join(self.dataset.images.root or "", ref["path"]))
        sample = self.dataset.samples[index]
        return self.preprocess(image.convert("RGB")), sample.caption, sample.negated_caption


@torch.no_grad()
def released_loop(model: torch.nn.Module, preprocess: Any, tokenizer: Any, dataset: EvalDataset,
                  batch_size: int = 64, workers: int = 0) -> list[bool]:
    """Per-sample correctness exactly as the released evaluation computes it."""
    loader = DataLoader(ReleasedPairs(dataset, preprocess), batch_size=batch_size, shuffle=False, num_workers=workers)
    predictions: list[bool] = []
    model.eval()
    for images, captions, negated in loader:
        image_features = model.encode_image(images)
        caption_features = model.encode_text(tokenizer(list(captions)))
        negated_features = model.encode_text(tokenizer(list(negated)))
        image_features = image_features / image_features.norm(dim=-1, keepdim=True)
        caption_features = caption_features / caption_features.norm(dim=-1, keepdim=True)
        negated_features = negated_features / negated_features.norm(dim=-1, keepdim=True)
        caption_similarity = image_features @ caption_features.T
        negated_similarity = image_features @ negated_features.T
        correct = torch.diagonal(caption_similarity) > torch.diagonal(negated_similarity)
        predictions.extend(bool(v) for v in correct)
    return predictions
