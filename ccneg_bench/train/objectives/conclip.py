"""``--loss conclip``: the CoN-CLIP loss, the mean of the ``--terms`` among L1, L2, L3.

It reads the negated captions, and the distractor images only when L2 or L3 is among the
terms (an L1-only ablation trains without mined distractors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccneg_bench.train.objectives.spec import DISTRACTORS, NEGATED_CAPTIONS, LossBatch, LossSpec

if TYPE_CHECKING:
    from ccneg_bench.train.config import TrainConfig


def conclip_inputs(config: "TrainConfig") -> frozenset[str]:
    """Negated captions always; distractor images for the terms that look at them (L2, L3)."""
    from ccneg_bench.train.losses import check_terms  # torch loads with the run, not with --help  # lazy: torch

    uses_distractors = bool({"l2", "l3"} & set(check_terms(config.terms)))
    return frozenset({NEGATED_CAPTIONS, DISTRACTORS} if uses_distractors else {NEGATED_CAPTIONS})


def check_conclip(config: "TrainConfig") -> None:
    from ccneg_bench.train.losses import check_terms  # torch loads with the run, not with --help  # lazy: torch

    try:
        check_terms(config.terms)
    except ValueError as err:
        raise ValueError(f"--terms {','.join(config.terms)}: {err}") from None


def conclip_objective(batch: LossBatch):
    # torch loads with the first step, not when --help lists the losses
    from ccneg_bench.train.losses import conclip_loss  # lazy: torch

    local = batch.local
    # without L2/L3 no distractor is loaded; the terms that would read it are not computed
    distractor = local["distractor"] if "distractor" in local else local["image"].new_zeros(local["image"].shape)
    all_image = batch.every("image")
    all_distractor = batch.every("distractor") if "distractor" in local else all_image.new_zeros(all_image.shape)
    return conclip_loss(
        local["image"], distractor, local["text"], local["negated"], batch.logit_scale, batch.config.terms,
        all_image=all_image, all_distractor_image=all_distractor, all_text=batch.every("text"),
        all_negated_text=batch.every("negated"), row_offset=batch.row_offset,
    )


SPEC = LossSpec(
    name="conclip",
    help="CoN-CLIP (negated captions + distractor images; --terms picks L1/L2/L3)",
    compute=conclip_objective,
    inputs=conclip_inputs,
    check=check_conclip,
)
