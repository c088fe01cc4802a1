"""ccneg gives exactly the released evaluation's predictions, ties and commas included.

The reference (``tests/helpers/released_loop.py``) restates the released loop without
importing anything from ccneg. The release written here holds the awkward cases: captions
whose negation falls past the 77-token window (c and c' then read identically: exact ties,
which the release's argmax counts as correct), commas in c' (stripped by the release's
loaders) and a top-level ``caption`` that differs from ``json.caption``.

``ccneg-build import-official`` and ``ccneg-bench`` run as a user types them (progress bars
on); ccneg-bench scores the release folder directly and the folder the import made from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ccneg_core.dataset import published_path
from tests.helpers.released_loop import load_open_clip_model, released_loop
from tests.scale.released_fixture import user_command, write_release

ROWS, LONG_EVERY = 60, 10  # 6 rows whose negation falls past the window


def _bench(config: Path, weights: Path, dataset: Path, output: Path) -> tuple[dict, dict]:
    """ccneg-bench as a user runs it (plus --save-predictions); (result JSON, predictions columns)."""
    done = user_command("ccneg-bench", "--model", f"open_clip:{config}", "--pretrained", str(weights),
                        "--dataset", str(dataset), "--output", str(output), "--save-predictions")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "captions" in done.stderr or "images" in done.stderr  # the progress bars were on
    (result_file,) = output.glob("*.json")
    result = json.loads(result_file.read_text())
    return result, pq.read_table(result["predictions"]).to_pydict()


@pytest.mark.slow
def test_ccneg_equals_the_released_loop_on_the_release_and_on_its_import(tiny_clip, tmp_path):
    config, weights = tiny_clip
    release = tmp_path / "release"
    release.mkdir()
    write_release(release, ROWS, long_every=LONG_EVERY)
    model, preprocess, tokenizer = load_open_clip_model(config, weights)
    keys, reference = released_loop(release, model, preprocess, tokenizer, batch_size=16)
    assert len(reference) == ROWS  # a file under 40,000 rows is all eval, as the release slices it
    tie_rows = [i for i in range(ROWS) if i % LONG_EVERY == LONG_EVERY - 1]
    assert all(reference[i] for i in tie_rows)  # argmax over [true, negated]: a tie is correct
    assert 0 < sum(reference) - len(tie_rows) < ROWS - len(tie_rows)  # a real mix elsewhere
    expected = sum(reference) / ROWS

    imported = tmp_path / "imported"
    done = user_command("ccneg-build", "import-official", str(release), "--out", str(imported))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "import-official" in done.stderr and f"{ROWS}/{ROWS}" in done.stderr  # the bar ran to the end

    direct, direct_rows = _bench(config, weights, release, tmp_path / "bench-release")
    via_import, import_rows = _bench(config, weights, imported, tmp_path / "bench-imported")
    for result, rows in ((direct, direct_rows), (via_import, import_rows)):
        metrics = result["metrics"]
        assert metrics["accuracy"] == expected and metrics["tie_rule"] == "argmax"
        assert rows["correct"] == reference
        assert metrics["ties"] == len(tie_rows) and metrics["truncated"] == len(tie_rows)
        assert [i for i, tie in enumerate(rows["tie"]) if tie] == tie_rows
        assert metrics["accuracy_tie_argmax"] == expected
        assert metrics["accuracy_tie_wrong"] == pytest.approx((sum(reference) - len(tie_rows)) / ROWS)
        assert metrics["accuracy_tie_half"] == pytest.approx((sum(reference) - len(tie_rows) / 2) / ROWS)
    assert direct_rows["id"] == import_rows["id"]
    assert direct["breakdowns"] == via_import["breakdowns"]
    # the ids name the release's rows, in file order
    official = pq.read_table(published_path(imported, "official/annotations.parquet")).to_pydict()
    key_of = {i: json.loads(a)["json"]["key"] for i, a in zip(official["id"], official["annotation"])}
    assert [key_of[i] for i in direct_rows["id"]] == keys


def test_captions_cut_at_the_context_length_read_alike_and_are_counted(tiny_spec, tmp_path):
    """Two captions that differ only past the cut share one feature row (an exact tie), and the
    uncut token counts say that they were cut; a model without a token limit counts nothing."""
    import numpy as np

    from ccneg_bench.features import encode_texts
    from ccneg_bench.models.registry import load_model
    from tests.helpers.tiny_hf import save_tiny_hf_clip

    spec, weights = tiny_spec
    open_clip_model = load_model(spec, pretrained=weights)
    hf_model = load_model(f"hf:{save_tiny_hf_clip(tmp_path / 'hf')}")
    prefix = "a " * 100
    caption, negated, short = prefix + "dog on a couch", prefix + "dog not on a couch", "a dog"
    assert open_clip_model.context_length == 77
    assert open_clip_model.token_lengths([caption, negated, short]) == [106, 107, 4]  # start and end included
    assert open_clip_model.text_lengths([caption, short]) == [77, 4]  # the batching cost: what the tower reads
    # tokens are memoised and cut as open_clip's own tokenizer cuts them, at the boundary too
    import torch

    awkward = [caption, negated, short, "", "  Odd   spacing &amp; \u00fcn\u00efcode ", "x " * 75, "x " * 76]
    assert open_clip_model.token_lengths(awkward[-2:]) == [77, 78]
    assert torch.equal(open_clip_model.tokens.batch(awkward), open_clip_model.tokenizer(awkward))
    for adapter in (open_clip_model, hf_model):
        features = encode_texts(adapter, [short, caption, negated, short], progress=False)
        assert features.stats["texts_encoded"] == 2  # the two long captions read alike: one encoding
        np.testing.assert_array_equal(features.of([caption]), features.of([negated]))
        assert not np.array_equal(features.of([caption]), features.of([short]))
        assert features.over_context([caption, negated, short]).tolist() == [True, True, False]
    baseline = load_model("text:negation-words")
    assert baseline.token_lengths([caption]) is None and baseline.context_length is None
    assert encode_texts(baseline, [caption], progress=False).over_context([caption]) is None
