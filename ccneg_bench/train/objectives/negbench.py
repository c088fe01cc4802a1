"""``--loss negbench``: NegBench's fine-tuning objective, (1 - W) * CLIP + W * MCQ.

NegBench (CVPR 2025) fine-tunes with the CLIP loss plus a multiple-choice cross-entropy: each
image against its four caption options ("features A and B", "does not feature N", "features B,
but not N", ...), target the right one. Its code weighs the two with ``--contrastive-loss-weight``
and ``--mcq-loss-weight``; the released checkpoints were trained with 0.99 and 0.01, which is
the default here (``--mcq-weight 0.01``). Only the ratio of the two weights matters to AdamW, so
one weight W in [0, 1] spans every recipe.

The contrastive half pairs each image with its right option (the MCQ files carry no other
caption), over the whole batch; the MCQ half compares each image with its own options only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccneg_bench.train.objectives.spec import MCQ_OPTIONS, LossBatch, LossSpec

if TYPE_CHECKING:
    from ccneg_bench.train.config import TrainConfig


def check_negbench(config: "TrainConfig") -> None:
    weight = config.mcq_weight
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"--mcq-weight {weight:g}: must be between 0 and 1 (the loss is (1 - W) * CLIP + W * MCQ)")


def negbench_objective(batch: LossBatch):
    # torch loads with the first step, not when --help lists the losses
    from ccneg_bench.train.losses import clip_loss, mcq_loss  # lazy: torch

    local, weight = batch.local, batch.config.mcq_weight
    contrastive = clip_loss(local["image"], local["text"], batch.logit_scale, all_image=batch.every("image"),
                            all_text=batch.every("text"), row_offset=batch.row_offset)
    choice = mcq_loss(local["image"], local["options"], local["correct"], batch.logit_scale)
    batch.parts.update(clip=contrastive.detach(), mcq=choice.detach())
    return (1.0 - weight) * contrastive + weight * choice


SPEC = LossSpec(
    name="negbench",
    help="NegBench: (1 - W) * CLIP loss + W * 4-way MCQ cross-entropy (W: --mcq-weight) on NegBench-style "
         "MCQ data",
    compute=negbench_objective,
    inputs=frozenset({MCQ_OPTIONS}),
    check=check_negbench,
)
