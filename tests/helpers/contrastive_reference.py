"""The contrastive losses restated from their definitions, in plain float64 Python.

Independent of the package on purpose: this module imports only ``math``, works on nested
lists of floats, and follows the written definitions (ccneg-facts section 3 for CoN-CLIP;
NegCLIP's image-to-text over true and negated captions) one row at a time. A mistake shared
with ``ccneg_bench.train.losses`` would have to be made twice, in two different styles.
"""

from __future__ import annotations

import math

Matrix = list[list[float]]


def _dot(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b))


def cross_entropy(rows: Matrix, columns: Matrix, scale: float) -> float:
    """Mean over rows i of -log softmax(scale * rows[i] . columns)[i] (target: column i)."""
    total = []
    for i, row in enumerate(rows):
        logits = [scale * _dot(row, column) for column in columns]
        peak = max(logits)
        log_sum = peak + math.log(math.fsum(math.exp(v - peak) for v in logits))
        total.append(log_sum - logits[i])
    return math.fsum(total) / len(rows)


def conclip_terms(image: Matrix, distractor: Matrix, text: Matrix, negated: Matrix, scale: float) -> dict[str, float]:
    """L1: I against [c ; c'];  L2: c against [I ; I'];  L3: I' against [c' ; c]."""
    return {
        "l1": cross_entropy(image, text + negated, scale),
        "l2": cross_entropy(text, image + distractor, scale),
        "l3": cross_entropy(distractor, negated + text, scale),
    }


def conclip(image: Matrix, distractor: Matrix, text: Matrix, negated: Matrix, scale: float,
            terms: tuple[str, ...]) -> float:
    """The mean of the chosen CoN-CLIP terms."""
    values = conclip_terms(image, distractor, text, negated, scale)
    return math.fsum(values[t] for t in terms) / len(terms)


def clip(image: Matrix, text: Matrix, scale: float) -> float:
    """The symmetric CLIP loss: image -> text and text -> image, averaged."""
    return (cross_entropy(image, text, scale) + cross_entropy(text, image, scale)) / 2


def negclip(image: Matrix, text: Matrix, negated: Matrix, scale: float) -> float:
    """NegCLIP-style: image -> [c ; c'] (negated captions as extra hard negatives) and text -> image."""
    return (cross_entropy(image, text + negated, scale) + cross_entropy(text, image, scale)) / 2


def mcq(image: Matrix, options: list[Matrix], correct: list[int], scale: float) -> float:
    """NegBench's MCQ loss: mean over rows of -log softmax(scale * image_i . its own options)[right one]."""
    total = []
    for row, choices, right in zip(image, options, correct):
        logits = [scale * _dot(row, option) for option in choices]
        peak = max(logits)
        log_sum = peak + math.log(math.fsum(math.exp(v - peak) for v in logits))
        total.append(log_sum - logits[right])
    return math.fsum(total) / len(image)


def negbench(image: Matrix, options: list[Matrix], correct: list[int], scale: float, weight: float) -> float:
    """NegBench's objective as configured here: (1 - W) * CLIP(image, right option) + W * MCQ."""
    right = [choices[k] for choices, k in zip(options, correct)]
    return (1 - weight) * clip(image, right, scale) + weight * mcq(image, options, correct, scale)
