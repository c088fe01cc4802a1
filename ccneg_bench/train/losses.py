"""Loss math: the plain CLIP loss, the NegCLIP-style loss, the CoN-CLIP loss and NegBench's MCQ loss.

Pure functions of feature batches, so that they can be unit-tested against an independent
implementation and reused by the single-process, the distributed and the cached paths alike.

All inputs are L2-normalised feature matrices and ``logit_scale`` is the *exponentiated*
temperature ``s = exp(t)`` (what open_clip's ``model.logit_scale.exp()`` returns).

Distributed training calls the same functions with ``rows`` that are the local slice of the
global batch and ``columns`` that span it (see :mod:`ccneg_bench.train.distributed`): the
``row_offset`` argument says where the local rows sit in the global batch, so the target of
local row ``i`` is global column ``row_offset + i``.

Which loss a run uses, and which inputs it reads, is the business of the loss registry
(:mod:`ccneg_bench.train.objectives.registry`); this module only holds the math.

Precision: the logits keep the precision of the features, except that half-precision
features (fp16/bf16, e.g. from autocast) are upcast to float32 before the softmax, where half
precision loses too much. float64 features therefore give the loss in float64 (used to check
the definition to 1e-12); float32 features give it in float32.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
import torch.nn.functional as F

#: Names of the CoN-CLIP loss terms (ccneg-facts.md section 3).
#: - ``l1``: rows I,  columns [c ; c'], target c_i   (an image prefers its caption to any negation)
#: - ``l2``: rows c,  columns [I ; I'], target I_i   (a caption prefers its image to distractors)
#: - ``l3``: rows I', columns [c'; c ], target c'_i  (a distractor prefers the negated caption)
CONCLIP_TERMS = ("l1", "l2", "l3")

#: Floating-point types too coarse for a softmax over many columns: upcast to float32.
_HALF_TYPES = (torch.float16, torch.bfloat16)


def _cross_entropy_rows(
    rows: torch.Tensor, columns: torch.Tensor, logit_scale: torch.Tensor | float, row_offset: int
) -> torch.Tensor:
    """Mean cross-entropy of ``s * rows @ columns.T`` with target column ``row_offset + i``."""
    logits = logit_scale * rows @ columns.t()
    if logits.dtype in _HALF_TYPES:
        logits = logits.float()
    targets = torch.arange(rows.shape[0], device=rows.device) + row_offset
    return F.cross_entropy(logits, targets)


def check_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Validate a selection of loss terms and return it as a tuple without duplicates."""
    picked = tuple(dict.fromkeys(t.lower() for t in terms))
    unknown = [t for t in picked if t not in CONCLIP_TERMS]
    if unknown or not picked:
        raise ValueError(
            f"unknown or empty CoN-CLIP loss terms {list(terms)!r}: pick any of {CONCLIP_TERMS}"
        )
    return picked


def clip_loss(
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    *,
    all_image: torch.Tensor | None = None,
    all_text: torch.Tensor | None = None,
    row_offset: int = 0,
) -> torch.Tensor:
    """The plain symmetric CLIP loss: (CE(image -> text) + CE(text -> image)) / 2.

    ``all_image`` / ``all_text`` are the columns when they span more than the local rows
    (the gathered global batch); by default the columns are the rows themselves.
    """
    all_image = image if all_image is None else all_image
    all_text = text if all_text is None else all_text
    image_to_text = _cross_entropy_rows(image, all_text, logit_scale, row_offset)
    text_to_image = _cross_entropy_rows(text, all_image, logit_scale, row_offset)
    return (image_to_text + text_to_image) / 2


def negclip_loss(
    image: torch.Tensor,
    text: torch.Tensor,
    negated_text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    *,
    all_image: torch.Tensor | None = None,
    all_text: torch.Tensor | None = None,
    all_negated_text: torch.Tensor | None = None,
    row_offset: int = 0,
) -> torch.Tensor:
    """The NegCLIP-style loss: the CLIP loss with the negated captions as extra hard negatives.

    (CE(image -> [c ; c']) + CE(text -> image)) / 2: each image must prefer its caption to
    every caption and every negated caption of the batch, and each caption its image to the
    batch's images. No distractor images take part (that is what CoN-CLIP adds with L2/L3), so
    it is the baseline that isolates what the distractor terms contribute. The image -> text
    half is CoN-CLIP's L1.
    """
    all_image = image if all_image is None else all_image
    all_text = text if all_text is None else all_text
    all_negated_text = negated_text if all_negated_text is None else all_negated_text
    captions = torch.cat([all_text, all_negated_text])
    image_to_text = _cross_entropy_rows(image, captions, logit_scale, row_offset)
    text_to_image = _cross_entropy_rows(text, all_image, logit_scale, row_offset)
    return (image_to_text + text_to_image) / 2


def conclip_loss(
    image: torch.Tensor,
    distractor_image: torch.Tensor,
    text: torch.Tensor,
    negated_text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    terms: Sequence[str] = CONCLIP_TERMS,
    *,
    all_image: torch.Tensor | None = None,
    all_distractor_image: torch.Tensor | None = None,
    all_text: torch.Tensor | None = None,
    all_negated_text: torch.Tensor | None = None,
    row_offset: int = 0,
) -> torch.Tensor:
    """The CoN-CLIP loss: the mean of the selected terms among L1, L2, L3.

    Each term is a mean cross-entropy over the M rows against 2M columns (the true side
    first, so that the target of row ``i`` is column ``i``). ``terms`` picks any subset,
    for the paper's ablations. The ``all_*`` arguments are the global-batch columns in
    distributed training (defaults: the local batch).
    """
    picked = check_terms(terms)
    all_image = image if all_image is None else all_image
    all_distractor_image = (
        distractor_image if all_distractor_image is None else all_distractor_image
    )
    all_text = text if all_text is None else all_text
    all_negated_text = negated_text if all_negated_text is None else all_negated_text

    values = []
    if "l1" in picked:
        captions = torch.cat([all_text, all_negated_text])
        values.append(_cross_entropy_rows(image, captions, logit_scale, row_offset))
    if "l2" in picked:
        images = torch.cat([all_image, all_distractor_image])
        values.append(_cross_entropy_rows(text, images, logit_scale, row_offset))
    if "l3" in picked:
        captions = torch.cat([all_negated_text, all_text])
        values.append(_cross_entropy_rows(distractor_image, captions, logit_scale, row_offset))
    return torch.stack(values).mean()


def mcq_loss(
    image: torch.Tensor, options: torch.Tensor, correct: torch.Tensor, logit_scale: torch.Tensor | float
) -> torch.Tensor:
    """NegBench's multiple-choice loss: mean CE over each image's own options, target the right one.

    ``image`` is (n, d), ``options`` (n, k, d) the features of each row's k candidate captions,
    ``correct`` (n,) the index of the right caption. The logits are ``s * <image_i, option_ij>``
    (NegBench's ``MCQLoss``: the model's exponentiated logit scale, no other rows' options), so
    the loss teaches an image to prefer "features B, but not N" over "features N, but not B".
    """
    logits = logit_scale * torch.einsum("nd,nkd->nk", image, options)
    if logits.dtype in _HALF_TYPES:
        logits = logits.float()
    return F.cross_entropy(logits, correct)
