"""The contrastive losses against their definitions, restated independently in float64.

The reference (``tests/helpers/contrastive_reference.py``) imports nothing from ccneg and
works on Python floats; here the package's losses are checked against it in float64 to
1e-12 (the losses keep the input precision), in float32 to float32 accuracy, and under
half precision (upcast to float32 before the softmax).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.losses import CONCLIP_TERMS, clip_loss, conclip_loss, mcq_loss, negclip_loss
from ccneg_bench.train.objectives.registry import check_loss_name, get_loss, loss_names
from ccneg_bench.train.objectives.spec import NEGATED_CAPTIONS, LossBatch
from tests.helpers import contrastive_reference as ref

ALL_SUBSETS = [terms for size in (1, 2, 3) for terms in itertools.combinations(CONCLIP_TERMS, size)]


def _unit(m: int, d: int, gen: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = torch.randn(m, d, generator=gen, dtype=torch.float64)
    return (x / x.norm(dim=-1, keepdim=True)).to(dtype)


def _batch(seed: int, m: int = 7, d: int = 16, dtype: torch.dtype = torch.float64):
    """Four unit-feature matrices (I, I', c, c') and a logit scale in [1, 100]."""
    gen = torch.Generator().manual_seed(seed)
    feats = tuple(_unit(m, d, gen, dtype) for _ in range(4))
    scale = float(torch.empty(1, dtype=torch.float64).uniform_(1.0, 100.0, generator=gen))
    return feats, scale


def _lists(*tensors: torch.Tensor) -> list:
    return [t.double().tolist() for t in tensors]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conclip_loss_in_float64_equals_the_definition_for_every_term_subset(seed: int) -> None:
    (image, distractor, text, negated), scale = _batch(seed)
    for terms in ALL_SUBSETS:
        ours = conclip_loss(image, distractor, text, negated, torch.tensor(scale, dtype=torch.float64), terms=terms)
        assert ours.dtype == torch.float64, terms
        expected = ref.conclip(*_lists(image, distractor, text, negated), scale, terms)
        assert abs(ours.item() - expected) <= 1e-12, (terms, ours.item(), expected)


def test_float64_precision_survives_a_float32_logit_scale() -> None:
    """The trainer's logit scale is a float32 parameter: it must not pull fp64 features down."""
    (image, distractor, text, negated), scale = _batch(7)
    scale32 = torch.tensor(scale, dtype=torch.float32)
    ours = conclip_loss(image, distractor, text, negated, scale32)
    expected = ref.conclip(*_lists(image, distractor, text, negated), float(scale32), CONCLIP_TERMS)
    assert ours.dtype == torch.float64
    assert abs(ours.item() - expected) <= 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conclip_loss_in_float32_matches_the_definition(seed: int) -> None:
    (image, distractor, text, negated), scale = _batch(seed, dtype=torch.float32)
    for terms in ALL_SUBSETS:
        ours = conclip_loss(image, distractor, text, negated, torch.tensor(scale), terms=terms)
        assert ours.dtype == torch.float32
        expected = ref.conclip(*_lists(image, distractor, text, negated), scale, terms)
        assert ours.item() == pytest.approx(expected, rel=1e-5, abs=1e-5), terms


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_features_are_upcast_before_the_softmax(dtype: torch.dtype) -> None:
    """fp16/bf16 logits become float32: the loss is float32 and close to the definition
    evaluated on the same (rounded) features."""
    (image, distractor, text, negated), scale = _batch(3, m=16, d=32, dtype=dtype)
    ours = conclip_loss(image, distractor, text, negated, torch.tensor(scale))
    assert ours.dtype == torch.float32
    expected = ref.conclip(*_lists(image, distractor, text, negated), scale, CONCLIP_TERMS)
    # the logits themselves are rounded to the half type before the upcast (~scale * 2^-8)
    assert ours.item() == pytest.approx(expected, rel=0.02, abs=0.02)


def test_bf16_autocast_gives_a_float32_loss_close_to_fp32() -> None:
    (image, distractor, text, negated), scale = _batch(4, m=16, d=32, dtype=torch.float32)
    exact = conclip_loss(image, distractor, text, negated, torch.tensor(scale))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        mixed = conclip_loss(image, distractor, text, negated, torch.tensor(scale))
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(exact.item(), rel=0.02, abs=0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_negclip_loss_in_float64_equals_the_definition(seed: int) -> None:
    (image, _, text, negated), scale = _batch(seed)
    ours = negclip_loss(image, text, negated, torch.tensor(scale, dtype=torch.float64))
    assert ours.dtype == torch.float64
    assert abs(ours.item() - ref.negclip(*_lists(image, text, negated), scale)) <= 1e-12


def test_negclip_is_not_clip_and_not_conclip() -> None:
    """The negated captions change the loss, and it is none of the CoN-CLIP term subsets."""
    (image, distractor, text, negated), scale = _batch(9)
    value = negclip_loss(image, text, negated, scale).item()
    assert abs(value - clip_loss(image, text, scale).item()) > 1e-3
    for terms in ALL_SUBSETS:
        assert abs(value - conclip_loss(image, distractor, text, negated, scale, terms=terms).item()) > 1e-3


def _options(seed: int, m: int = 6, k: int = 4, d: int = 16, dtype: torch.dtype = torch.float64):
    gen = torch.Generator().manual_seed(seed)
    image = _unit(m, d, gen, dtype)
    options = _unit(m * k, d, gen, dtype).view(m, k, d)
    correct = torch.randint(0, k, (m,), generator=gen)
    return image, options, correct


@pytest.mark.parametrize("seed", [0, 1])
def test_mcq_loss_in_float64_equals_the_definition(seed: int) -> None:
    image, options, correct = _options(seed)
    ours = mcq_loss(image, options, correct, torch.tensor(30.0, dtype=torch.float64))
    assert ours.dtype == torch.float64
    expected = ref.mcq(image.tolist(), options.tolist(), correct.tolist(), 30.0)
    assert abs(ours.item() - expected) <= 1e-12


def test_mcq_loss_sees_only_each_rows_own_options() -> None:
    """Swapping two rows' options (and targets) must change the loss: no cross-row columns."""
    image, options, correct = _options(2)
    value = mcq_loss(image, options, correct, 20.0).item()
    swapped = options.clone()
    swapped[[0, 1]] = options[[1, 0]]
    moved = correct.clone()
    moved[[0, 1]] = correct[[1, 0]]
    assert abs(mcq_loss(image, swapped, moved, 20.0).item() - value) > 1e-6


def test_negbench_objective_is_the_weighted_sum_of_clip_and_mcq() -> None:
    """Through the registry, as the trainer calls it: (1 - W) * CLIP(image, right option) + W * MCQ."""
    image, options, correct = _options(3)
    text = options[torch.arange(len(correct)), correct]
    spec = get_loss("negbench")
    for weight in (0.0, 0.01, 0.5, 1.0):
        config = TrainConfig(loss="negbench", mcq_weight=weight)
        batch = LossBatch(local={"image": image, "text": text, "options": options, "correct": correct},
                          logit_scale=torch.tensor(25.0, dtype=torch.float64), config=config)
        expected = ref.negbench(image.tolist(), options.tolist(), correct.tolist(), 25.0, weight)
        assert abs(spec.compute(batch).item() - expected) <= 1e-12, weight
    assert TrainConfig().mcq_weight == 0.01


def test_loss_names() -> None:
    assert loss_names()[0] == "conclip" == TrainConfig().loss
    assert [NEGATED_CAPTIONS in get_loss(name).needs(TrainConfig()) for name in loss_names()] == [True, True, False, False]
    with pytest.raises(ValueError, match="conclip, negclip, clip, negbench"):
        check_loss_name("infonce")


def test_terms_are_not_interchangeable() -> None:
    """Each term must see different matrices: a bug swapping targets or columns shows here."""
    gen = torch.Generator().manual_seed(5)
    image, distractor, text, negated = (_unit(6, 8, gen) for _ in range(4))
    values = [float(conclip_loss(image, distractor, text, negated, 20.0, terms=(t,))) for t in CONCLIP_TERMS]
    assert len({round(v, 6) for v in values}) == 3


def test_clip_loss_equals_the_definition() -> None:
    gen = torch.Generator().manual_seed(3)
    image, text = _unit(9, 12, gen, torch.float64), _unit(9, 12, gen, torch.float64)
    scale = 37.5
    assert abs(clip_loss(image, text, scale).item() - ref.clip(*_lists(image, text), scale)) <= 1e-12
    assert clip_loss(image.float(), text.float(), scale).item() == pytest.approx(ref.clip(*_lists(image, text), scale),
                                                                                 rel=1e-5)


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
    neg_halves = [negclip_loss(image[s], text[s], negated[s], 10.0, all_image=image, all_text=text,
                               all_negated_text=negated, row_offset=s.start) for s in (slice(0, 4), slice(4, 8))]
    assert float(sum(neg_halves) / 2) == pytest.approx(float(negclip_loss(image, text, negated, 10.0)), rel=1e-6)


def test_unknown_terms_are_refused() -> None:
    x = torch.eye(2)
    with pytest.raises(ValueError, match="l1"):
        conclip_loss(x, x, x, x, 1.0, terms=("l4",))
    with pytest.raises(ValueError):
        conclip_loss(x, x, x, x, 1.0, terms=())
