"""A third-party-style training loss, registered at test time: shows how a loss plugs in.

A margin loss on the negated captions: each image must score its caption at least ``MARGIN``
above its own negated caption (cosine similarities, no other rows). It declares what it reads
(the negated captions), refuses a setting it cannot train with (an image tower alone would never
move the captions it compares), and brings its help line; nothing else in ccneg knows about it.
"""

from __future__ import annotations

import torch

from ccneg_bench.train.objectives.spec import NEGATED_CAPTIONS, LossBatch, LossSpec

MARGIN = 0.2


def margin_loss(batch: LossBatch) -> torch.Tensor:
    local = batch.local
    true = (local["image"] * local["text"]).sum(dim=-1)
    negated = (local["image"] * local["negated"]).sum(dim=-1)
    return torch.relu(MARGIN - (true - negated)).mean()


def check_margin(config) -> None:
    if config.trained_parts() == "image":
        raise ValueError("--loss margin compares captions: --trainable image would never move them")


SPEC = LossSpec(
    name="margin",
    help="hinge on sim(image, caption) - sim(image, negated caption) (a test plug-in)",
    compute=margin_loss,
    inputs=frozenset({NEGATED_CAPTIONS}),
    check=check_margin,
)
