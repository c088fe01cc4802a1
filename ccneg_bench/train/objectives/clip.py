"""``--loss clip``: the plain symmetric CLIP loss on (image, caption) pairs (plain fine-tuning)."""

from __future__ import annotations

from ccneg_bench.train.objectives.spec import LossBatch, LossSpec


def clip_objective(batch: LossBatch):
    # torch loads with the first step, not when --help lists the losses
    from ccneg_bench.train.losses import clip_loss  # lazy: torch

    local = batch.local
    return clip_loss(local["image"], local["text"], batch.logit_scale, all_image=batch.every("image"),
                     all_text=batch.every("text"), row_offset=batch.row_offset)


SPEC = LossSpec(
    name="clip",
    help="plain CLIP loss on (image, caption)",
    compute=clip_objective,
)
