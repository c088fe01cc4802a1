"""``--loss negclip``: the CLIP loss with each batch's negated captions as extra hard negatives.

No distractor images: the baseline that isolates what CoN-CLIP's distractor terms add.
"""

from __future__ import annotations

from ccneg_bench.train.objectives.spec import NEGATED_CAPTIONS, LossBatch, LossSpec


def negclip_objective(batch: LossBatch):
    # torch loads with the first step, not when --help lists the losses
    from ccneg_bench.train.losses import negclip_loss  # lazy: torch

    local = batch.local
    return negclip_loss(local["image"], local["text"], local["negated"], batch.logit_scale,
                        all_image=batch.every("image"), all_text=batch.every("text"),
                        all_negated_text=batch.every("negated"), row_offset=batch.row_offset)


SPEC = LossSpec(
    name="negclip",
    help="CLIP loss with the negated captions as extra hard negatives (no distractors)",
    compute=negclip_objective,
    inputs=frozenset({NEGATED_CAPTIONS}),
)
