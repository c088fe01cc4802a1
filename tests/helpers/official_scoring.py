"""Independent restatements of each benchmark's official scoring (imports nothing from ccneg).

Each function reads the benchmark file the way the benchmark's own code does (csv/json/ast/
pickle, PIL + ``.convert("RGB")``, the model's transform), encodes one item at a time with the
plain open_clip calls (full 77-token context, one text per call), L2-normalises, and applies the published rule:

- NegBench MCQ: ``torch.argmax`` over the options (first maximum wins); per-template accuracy;
- NegBench retrieval: every caption is a query, its own row the answer; ranks from a stable
  descending sort (ties in gallery order);
- SugarCREPE: correct iff ``pos_score > neg_score``;
- CREPE: rank of index 0 in a stable descending sort; R@k = mean(rank < k); mean rank + 1;
  floor(median) + 1; the image is cropped with ``torchvision``'s ``TF.crop`` first;
- NegRefCOCOg: crop each ``[x, y, w, h]`` box with PIL, ``np.argmax`` over the crops' scores
  against the phrase (first maximum wins), right iff the chosen box equals ``ref_bbox``;
- CLIP_benchmark zero-shot: per class the mean of normalised prompt embeddings, renormalised;
  top-k from a stable sort; mean per-class recall = balanced accuracy of the argmax.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import os
import pickle
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image


class Encoder:
    def __init__(self, model: Any, preprocess: Any, tokenizer: Any) -> None:
        self.model, self.preprocess, self.tokenizer = model.eval(), preprocess, tokenizer

    @torch.no_grad()
    def image(self, image: Image.Image) -> torch.Tensor:
        feature = self.model.encode_image(self.preprocess(image.convert("RGB")).unsqueeze(0))[0]
        return feature / feature.norm()

    @torch.no_grad()
    def texts(self, texts: list[str]) -> torch.Tensor:
        # one text per call, as SugarCREPE's main_eval.py encodes its two captions: a string's
        # features then do not depend on its neighbours in a batch, so equal strings tie exactly
        features = torch.cat([self.model.encode_text(self.tokenizer([t])) for t in texts])
        return features / features.norm(dim=-1, keepdim=True)


def dots(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """left @ right.T as separate 1-D dot products: equal vectors give exactly equal scores
    (a batched matrix product may round two equal rows differently, depending on their position)."""
    left, right = left.reshape(-1, left.shape[-1]), right.reshape(-1, right.shape[-1])
    return torch.tensor([[float(a @ b) for b in right] for a in left])


def negbench_mcq(enc: Encoder, path: str, image_of: Callable[[str], str], skip: set[int]) -> dict[str, Any]:
    rows = list(csv.DictReader(open(path, encoding="utf-8", newline="")))
    per_row: dict[int, bool] = {}
    by_template: dict[str, list[bool]] = {}
    for index, row in enumerate(rows):
        if index in skip:
            continue
        options = [row[f"caption_{i}"] for i in range(4) if f"caption_{i}" in row]
        image = enc.image(Image.open(image_of(row["image_path"])))
        scores = dots(enc.texts(options), image)[:, 0]
        correct = int(torch.argmax(scores)) == int(row["correct_answer"])
        per_row[index] = correct
        by_template.setdefault(row.get("correct_answer_template", ""), []).append(correct)
    out: dict[str, Any] = {"per_row": per_row, "total_accuracy": sum(per_row.values()) / len(per_row)}
    for template in ("positive", "negative", "hybrid"):
        values = by_template.get(template, [])
        out[f"{template}_accuracy"] = sum(values) / len(values) if values else None
    return out


def _stable_rank(scores: torch.Tensor, target: int) -> int:
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    return order.index(target)


def negbench_retrieval(enc: Encoder, path: str, image_of: Callable[[str], str], skip: set[int],
                       ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    rows = [r for i, r in enumerate(csv.DictReader(open(path, encoding="utf-8", newline=""))) if i not in skip]
    images = torch.stack([enc.image(Image.open(image_of(r["filepath"]))) for r in rows])
    captions, owner = [], []
    for index, row in enumerate(rows):
        for caption in ast.literal_eval(row["captions"]):
            captions.append(caption)
            owner.append(index)
    texts = enc.texts(captions)
    scores = dots(texts, images)
    t2i = [_stable_rank(scores[q], owner[q]) for q in range(len(captions))]
    i2t = []
    for index in range(len(rows)):
        order = torch.argsort(scores[:, index], descending=True, stable=True).tolist()
        i2t.append(min(order.index(q) for q in range(len(captions)) if owner[q] == index))
    out = {}
    for k in ks:
        out[f"image_retrieval_recall@{k}"] = float(np.mean([r < k for r in t2i]))
        out[f"text_retrieval_recall@{k}"] = float(np.mean([r < k for r in i2t]))
    return out


def sugarcrepe(enc: Encoder, folder: str, image_root: str, subset: str) -> dict[str, Any]:
    entries = json.load(open(os.path.join(folder, f"{subset}.json"), encoding="utf-8"))
    per_key: dict[str, bool] = {}
    for key, entry in entries.items():
        if "negative_caption" not in entry or not os.path.exists(os.path.join(image_root, entry["filename"])):
            continue  # rows the test broke on purpose
        image = enc.image(Image.open(os.path.join(image_root, entry["filename"])))
        pos, neg = dots(enc.texts([entry["caption"], entry["negative_caption"]]), image)[:, 0].tolist()
        per_key[key] = pos > neg
    return {"per_key": per_key, "acc": sum(per_key.values()) / len(per_key)}


def crepe(enc: Encoder, path: str, vg_root: str, skip: set[int]) -> dict[str, Any]:
    import torchvision.transforms.functional as TF

    ranks = []
    for index, row in enumerate(csv.DictReader(open(path, encoding="utf-8", newline=""))):
        if index in skip:
            continue
        name = f"{row['image_id']}.jpg"
        file = next(os.path.join(vg_root, d, name) for d in ("VG_100K", "VG_100K_2")
                    if os.path.exists(os.path.join(vg_root, d, name)))
        image = Image.open(file).convert("RGB")
        image = TF.crop(image, top=int(row["y"]), left=int(row["x"]), height=int(row["height"]), width=int(row["width"]))
        texts = [row["caption"]] + ast.literal_eval(row["hard_negs"])
        ranks.append(_stable_rank(dots(enc.texts(texts), enc.image(image))[:, 0], 0))
    ranks_array = np.array(ranks)
    out: dict[str, Any] = {"ranks": ranks}
    for k in (1, 3, 5, 10):
        out[f"image_to_text_R@{k}"] = float(np.mean(ranks_array < k))
    out["image_to_text_mean_rank"] = float(ranks_array.mean() + 1)
    out["image_to_text_median_rank"] = float(math.floor(np.median(ranks_array)) + 1)
    return out


def zeroshot(enc: Encoder, images: list[Image.Image], labels: list[int], prompts: list[list[str]]) -> dict[str, Any]:
    weights = []
    for class_prompts in prompts:
        mean = enc.texts(class_prompts).mean(dim=0)
        weights.append(mean / mean.norm())
    classifier = torch.stack(weights)
    logits = dots(torch.stack([enc.image(i) for i in images]), classifier)
    order = torch.argsort(logits, dim=1, descending=True, stable=True)
    ranks = [order[i].tolist().index(label) for i, label in enumerate(labels)]
    predicted = order[:, 0].tolist()
    recalls = [np.mean([p == c for p, l in zip(predicted, labels) if l == c]) for c in sorted(set(labels))]
    return {"acc1": float(np.mean([r < 1 for r in ranks])),
            "acc5": float(np.mean([r < 5 for r in ranks])) if len(prompts) >= 5 else None,
            "mean_per_class_recall": float(np.mean(recalls)), "ranks": ranks}


def imagefolder_items(root: str) -> tuple[list[str], list[Image.Image], list[int]]:
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    images, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted(os.listdir(os.path.join(root, name))):
            if file.endswith(".png"):
                images.append(Image.open(os.path.join(root, name, file)))
                labels.append(label)
    return classes, images, labels


def cifar_items(folder: str) -> tuple[list[str], list[Image.Image], list[int]]:
    """The test split as torchvision reads it (trusted fixture: plain ``pickle`` is fine here)."""
    with open(os.path.join(folder, "cifar-10-batches-py", "batches.meta"), "rb") as handle:
        names = pickle.load(handle, encoding="latin1")["label_names"]
    with open(os.path.join(folder, "cifar-10-batches-py", "test_batch"), "rb") as handle:
        batch = pickle.load(handle, encoding="latin1")
    data = batch["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return names, [Image.fromarray(a) for a in data], list(batch["labels"])


def negrefcocog(enc: Encoder, path: str, image_root: str, skip: set[int]) -> dict[str, Any]:
    """NegationCLIP's ``negrefcocog_eval.py``: per item, crop every box with PIL (``(x, y, x + w, y + h)``),
    score each crop against the phrase, ``np.argmax``; right iff the chosen box equals ``ref_bbox``."""
    with open(path, encoding="utf-8") as handle:
        items = json.load(handle)
    per_item: dict[int, bool] = {}
    tied: dict[int, bool] = {}
    for index, item in enumerate(items):
        if index in skip:
            continue
        image = Image.open(os.path.join(image_root, item["image"]))
        phrase = enc.texts([item["phrase"]])[0]
        similarities = [float(enc.image(image.crop((x, y, x + w, y + h))) @ phrase) for x, y, w, h in item["bbox_list"]]
        chosen = int(np.argmax(similarities))
        per_item[index] = item["bbox_list"][chosen] == item["ref_bbox"]
        top = max(similarities)
        tied[index] = sum(s == top for s in similarities) > 1 and any(
            s == top and box == item["ref_bbox"] for s, box in zip(similarities, item["bbox_list"]))
    return {"accuracy": sum(per_item.values()) / len(per_item), "per_item": per_item, "tied": tied}
