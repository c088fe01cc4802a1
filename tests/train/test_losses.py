"""The CoN-CLIP and CLIP losses against a deliberately naive, independent implementation."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from ccneg_bench.train.losses import CONCLIP_TERMS, clip_loss, conclip_loss


def _naive_ce(rows: torch.Tensor, columns: list[torch.Tensor], scale: float) -> float:
    """Row-by-row cross-entropy in float64 Python arithmetic; the target of row i is column i."""
    total = 0.0
    for i, row in enumerate(rows):
        logits = [scale * float(torch.dot(row.double(), col.double())) for col in columns]
        peak = max(logits)
        log_sum = peak + math.log(sum(math.exp(v - peak) for v in logits))
        total += log_sum - logits[i]
    return total / len(rows)


def _naive_conclip(image, distractor, text, negated, scale, terms):
    values = {
        "l1": _naive_ce(image, list(text) + list(negated), scale),
        "l2": _naive_ce(text, list(image) + list(distractor), scale),
        "l3": _naive_ce(distractor, list(negated) + list(text), scale),
    }
    return sum(values[t] for t in terms) / len(terms)


def _unit(m: int, d: int, gen: torch.Generator) -> torch.Tensor:
    x = torch.randn(m, d, generator=gen)
    return x / x.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conclip_loss_matches_naive_for_every_term_subset(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    m, d = 7, 16
    image, distractor, text, negated = (_unit(m, d, gen) for _ in range(4))
    scale = float(torch.empty(1).uniform_(1.0, 100.0, generator=gen))
    for size in (1, 2, 3):
        for terms in itertools.combinations(CONCLIP_TERMS, size):
            ours = conclip_loss(image, distractor, text, negated, torch.tensor(scale), terms=terms)
            expected = _naive_conclip(image, distractor, text, negated, scale, terms)
            assert float(ours) == pytest.approx(expected, rel=1e-5, abs=1e-5), terms


def test_terms_are_not_interchangeable() -> None:
    """Each term must see different matrices: a bug swapping targets or columns shows here."""
    gen = torch.Generator().manual_seed(5)
    image, distractor, text, negated = (_unit(6, 8, gen) for _ in range(4))
    values = [float(conclip_loss(image, distractor, text, negated, 20.0, terms=(t,))) for t in CONCLIP_TERMS]
    assert len({round(v, 6) for v in values}) == 3


def test_clip_loss_matches_naive() -> None:
    gen = torch.Generator().manual_seed(3)
    image, text = _unit(9, 12, gen), _unit(9, 12, gen)
    scale = 37.5
    expected = (_naive_ce(image, list(text), scale) + _naive_ce(text, list(image), scale)) / 2
    assert float(clip_loss(image, text, scale)) == pytest.approx(expected, rel=1e-5)


def test_local_rows_against_global_columns_equal_the_full_batch() -> None:
    """What each rank computes, averaged over ranks, is the single-process loss."""
    gen = torch.Generator().manual_seed(4)
    image, distractor, text, negated = (_unit(8, 10, gen) for _ in range(4))
    full = conclip_loss(image, distractor, text, negated, 10.0)
    halves = [
        conclip_loss(image[s], distractor[s], text[s], negated[s], 10.0, all_image=image,
                     all_distractor_image=distractor, all_text=text, all_negated_text=negated, row_offset=s.start)
        for s in (slice(0, 4), slice(4, 8))
    ]
    assert float(sum(halves) / 2) == pytest.approx(float(full), rel=1e-6)
    clip_halves = [clip_loss(image[s], text[s], 10.0, all_image=image, all_text=text, row_offset=s.start)
                   for s in (slice(0, 4), slice(4, 8))]
    assert float(sum(clip_halves) / 2) == pytest.approx(float(clip_loss(image, text, 10.0)), rel=1e-6)


def test_unknown_terms_are_refused() -> None:
    x = torch.eye(2)
    with pytest.raises(ValueError, match="l1"):
        conclip_loss(x, x, x, x, 1.0, terms=("l4",))
    with pytest.raises(ValueError):
        conclip_loss(x, x, x, x, 1.0, terms=())
