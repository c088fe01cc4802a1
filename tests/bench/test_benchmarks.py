"""Every public benchmark format, scored equal to an independent restatement of its official code.

The fixtures are written by the tests in each benchmark's released layout (tests/helpers/
benchmarks.py) with exact ties, right answers at every index and broken rows; the reference
(tests/helpers/official_scoring.py) imports nothing from ccneg.
"""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pyarrow.parquet as pq
import pytest

import ccneg_bench
from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.models.registry import load_model
from ccneg_bench.tasks.ranking import rank_block
from ccneg_bench.tasks.ties import credit_choices
from tests.helpers import benchmarks as fixtures
from tests.helpers import official_scoring as official


@pytest.fixture(scope="module")
def adapter(tiny_spec):
    spec, weights = tiny_spec
    return load_model(spec, pretrained=weights)


@pytest.fixture(scope="module")
def enc(adapter):
    return official.Encoder(adapter.model, adapter.preprocess, adapter.tokenizer)


def _run(adapter, spec, tmp_path, tasks=None, **options):
    run_options = {k: options.pop(k) for k in ("tie_rule", "shuffle_options") if k in options}
    return ccneg_bench.evaluate(adapter, load_eval_dataset(spec, **options), tasks, output_dir=tmp_path / "out",
                                workers=0, progress=False, bootstrap=20, save_predictions=True, **run_options)


def _local(written):
    return lambda path: os.path.join(str(written.image_root), "val2017", os.path.basename(path))


def test_negbench_mcq_equals_official_argmax(adapter, enc, tmp_path):
    written = fixtures.write_negbench_mcq(tmp_path / "nb")
    [result] = _run(adapter, f"negbench:{written.path}", tmp_path, image_root=str(written.image_root))
    reference = official.negbench_mcq(enc, str(written.path), _local(written),
                                      skip=set(written.bad_rows) | set(written.missing_images))
    assert result["task"] == "mcq" and result["dataset"] == "negbench/COCO_val_mcq_llama3.1_rephrased"
    for key in ("total_accuracy", "positive_accuracy", "negative_accuracy", "hybrid_accuracy"):
        assert result["metrics"][key] == pytest.approx(reference[key], abs=1e-12), key
    predictions = pq.read_table(result["predictions"]).to_pydict()
    ours = {int(i.rsplit(":", 1)[1]): c == 1.0 for i, c in zip(predictions["id"], predictions["credit"])}
    assert ours == reference["per_row"]
    assert 0 < sum(ours.values()) < len(ours)
    assert set(predictions["correct_answer"]) == {0, 1, 2, 3}
    # rows 2, 5, 8, ... tie at the top (same string or same 77 tokens): argmax credits index 0 only
    tied = [i for i in ours if i % 6 in (2, 5)]
    assert tied and result["metrics"]["ties"] == len(tied)
    assert all(ours[i] == (i % 4 == 0) for i in tied)
    codes = {f["id"].rsplit(":", 1)[1]: f["code"] for f in result["failures"]}
    assert codes == {str(k): v for k, v in written.bad_rows.items()} | {
        str(written.missing_images[0]): "missing_image"}
    assert result["metrics"]["n_failed"] == 3 and result["metrics"]["n_scored"] == len(ours)
    rules = result["tie_rule"]["accuracy_by_rule"]
    assert result["tie_rule"]["applied"] == "argmax"
    n = len(ours)
    assert rules["argmax"] - rules["wrong"] == pytest.approx(sum(i % 4 == 0 for i in tied) / n)
    assert rules["half"] - rules["wrong"] == pytest.approx(len(tied) / 4 / n)


def test_tie_rule_and_shuffled_options_move_only_the_ties(adapter, tmp_path):
    written = fixtures.write_negbench_mcq(tmp_path / "nb")
    spec = f"negbench:{written.path}"
    base = _run(adapter, spec, tmp_path / "a", image_root=str(written.image_root))[0]
    wrong = _run(adapter, spec, tmp_path / "b", image_root=str(written.image_root), tie_rule="wrong")[0]
    half = _run(adapter, spec, tmp_path / "c", image_root=str(written.image_root), tie_rule="half")[0]
    shuffled = _run(adapter, spec, tmp_path / "d", image_root=str(written.image_root), shuffle_options=3)[0]
    by_rule = base["tie_rule"]["accuracy_by_rule"]
    assert wrong["metrics"]["total_accuracy"] == pytest.approx(by_rule["wrong"])
    assert half["metrics"]["total_accuracy"] == pytest.approx(by_rule["half"])
    assert wrong["tie_rule"] == {**base["tie_rule"], "requested": "wrong", "applied": "wrong"}
    # shuffling changes which option is first, so only tied rows can change their credit
    a = pq.read_table(base["predictions"]).to_pydict()
    b = pq.read_table(shuffled["predictions"]).to_pydict()
    changed = [i for i, x, y, t in zip(a["id"], a["credit"], b["credit"], a["tied"]) if x != y]
    assert changed and all(t for x, y, t in zip(a["credit"], b["credit"], a["tied"]) if x != y)
    assert shuffled["shuffle_options"] == 3


def test_negbench_binary_mcq(adapter, enc, tmp_path):
    written = fixtures.write_negbench_binary(tmp_path / "bin")
    [result] = _run(adapter, f"negbench:{written.path}", tmp_path)
    reference = official.negbench_mcq(enc, str(written.path), lambda p: str(tmp_path / "bin" / p), skip=set())
    assert set(result["metrics"]) >= {"total_accuracy"} and "positive_accuracy" not in result["metrics"]
    assert result["metrics"]["total_accuracy"] == pytest.approx(reference["total_accuracy"], abs=1e-12)
    assert result["metrics"]["ties"] == 2


def test_negbench_retrieval_equals_official(adapter, enc, tmp_path):
    written = fixtures.write_negbench_retrieval(tmp_path / "r")
    [result] = _run(adapter, f"negbench:{written.path}", tmp_path, image_root=str(written.image_root))
    reference = official.negbench_retrieval(enc, str(written.path), _local(written), skip=set(written.bad_rows))
    assert result["task"] == "retrieval"
    for key, value in reference.items():
        assert result["metrics"][key] == pytest.approx(value, abs=1e-12), key
    assert sorted(f["code"] for f in result["failures"]) == ["malformed_list", "malformed_list"]
    assert result["metrics"]["ties"] > 0  # the last row repeats the first image


def test_sugarcrepe_one_strict_result_per_subset(adapter, enc, tmp_path):
    written = fixtures.write_sugarcrepe(tmp_path / "sc")
    results = _run(adapter, f"sugarcrepe:{written.path}", tmp_path)
    assert [r["dataset"] for r in results] == ["sugar_crepe/add_att", "sugar_crepe/swap_obj"]
    for result in results:
        subset = result["dataset"].split("/")[1]
        reference = official.sugarcrepe(enc, str(written.path), str(written.image_root), subset)
        assert result["metrics"]["acc"] == pytest.approx(reference["acc"], abs=1e-12)
        predictions = pq.read_table(result["predictions"]).to_pydict()
        assert {i.split(":")[1]: c == 1.0 for i, c in zip(predictions["id"], predictions["credit"])} == reference["per_key"]
        assert result["metrics"]["ties"] == 2 and result["tie_rule"]["applied"] == "wrong"
        assert sorted(f["code"] for f in result["failures"]) == ["missing_field", "missing_image"]
        assert result["n"] == 11
    names = sorted(os.listdir(tmp_path / "out"))
    assert any(n.startswith("sugar_crepe_add_att_") and n.endswith("_en_pair.json") for n in names)


def test_crepe_ranks_equal_official(adapter, enc, tmp_path):
    written = fixtures.write_crepe(tmp_path / "cr")
    [result] = _run(adapter, f"crepe:{written.path}", tmp_path, image_root=str(written.image_root))
    reference = official.crepe(enc, str(written.path), str(written.image_root), skip=set(written.bad_rows))
    for key in ("image_to_text_R@1", "image_to_text_R@3", "image_to_text_R@5", "image_to_text_R@10",
                "image_to_text_mean_rank", "image_to_text_median_rank"):
        assert result["metrics"][key] == pytest.approx(reference[key], abs=1e-12), key
    assert pq.read_table(result["predictions"]).column("rank").to_pylist() == reference["ranks"]
    assert [f["code"] for f in result["failures"]] == ["malformed_list"]


def test_zeroshot_imagefolder_equals_clip_benchmark_rule(adapter, enc, tmp_path):
    written = fixtures.write_imagefolder(tmp_path / "if")
    templates = tmp_path / "templates.json"
    templates.write_text(json.dumps(["a photo of a {c}.", "a drawing of the {c}."]))
    results = _run(adapter, f"imagefolder:{written.path}", tmp_path, templates=str(templates))
    assert [r["task"] for r in results] == ["zeroshot", "zeroshot-negated"]
    classes, images, labels = official.imagefolder_items(str(written.path))
    affirmative = official.zeroshot(enc, images, labels, [[t.format(c=c) for t in json.loads(templates.read_text())] for c in classes])
    negated = official.zeroshot(enc, images, labels, [[f"this is not a photo of a {c}."] for c in classes])
    for key in ("acc1", "acc5", "mean_per_class_recall"):
        assert results[0]["metrics"][key] == pytest.approx(affirmative[key], abs=1e-12), key
        assert results[1]["metrics"][key] == pytest.approx(negated[key], abs=1e-12), key
    assert results[1]["metrics"]["acc1_affirmative"] == pytest.approx(affirmative["acc1"], abs=1e-12)
    assert results[1]["lower_is_better"][0] == "acc1" and "lower is better" in results[1]["note"]


def test_cifar10_pickles_with_tied_classes(adapter, enc, tmp_path):
    written = fixtures.write_cifar10(tmp_path / "cifar")
    cupl = {name: [f"a blurry photo of a {name}"] for name in set(written.extra["names"])}
    (tmp_path / "cupl.json").write_text(json.dumps(cupl))
    results = _run(adapter, f"cifar10:{written.path}", tmp_path, ["zeroshot"], templates=str(tmp_path / "cupl.json"))
    names, images, labels = official.cifar_items(str(written.path))
    reference = official.zeroshot(enc, images, labels, [cupl[n] for n in names])
    assert results[0]["dataset"] == "cifar10"
    for key in ("acc1", "acc5", "mean_per_class_recall"):
        assert results[0]["metrics"][key] == pytest.approx(reference[key], abs=1e-12), key
    assert results[0]["metrics"]["ties"] == labels.count(2) + labels.count(6)  # "bird" twice: always tied


def test_cifar_loader_never_runs_pickled_code(tmp_path):
    written = fixtures.write_cifar10(tmp_path / "cifar")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'owned'}",))

    with open(tmp_path / "cifar" / "cifar-10-batches-py" / "test_batch", "wb") as handle:
        pickle.dump({"data": Evil(), "labels": [0]}, handle, protocol=2)
    with pytest.raises(ValueError, match="refusing to load"):
        load_eval_dataset(f"cifar10:{written.path}")
    assert not (tmp_path / "owned").exists()


def test_rank_credit_at_one_is_the_tie_rule_of_choices():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 3, size=(200, 4)).astype(np.float32)  # many exact ties
    correct = rng.integers(0, 4, size=200)
    positive = np.zeros_like(scores, dtype=bool)
    positive[np.arange(200), correct] = True
    for rule in ("argmax", "wrong", "half"):
        ranked = rank_block(scores, positive, (1, 4), rule)
        assert np.allclose(ranked.credit[1], credit_choices(scores, correct, rule).credit)
        assert np.allclose(ranked.credit[4], 1.0)


def test_result_files_are_clip_benchmark_compatible(adapter, tmp_path):
    written = fixtures.write_negbench_binary(tmp_path / "bin")
    [result] = _run(adapter, f"negbench:{written.path}", tmp_path)
    stored = json.loads(open(result["path"], encoding="utf-8").read())
    assert list(stored)[:6] == ["dataset", "model", "pretrained", "task", "metrics", "language"]
    assert all(isinstance(stored[k], str) for k in ("dataset", "model", "pretrained", "task", "language"))
    config = stored["model"].split(":", 1)[1]
    parent = os.path.basename(os.path.dirname(config))
    assert os.path.basename(result["path"]) == f"negbench_chexpert_binary_mcq_random_none_open_clip_{parent}_tiny-clip.json_en_mcq.json"
    assert stored["language"] == "en" and stored["pretrained"] == "none"
    assert "intervals" in stored and "ci95" not in stored["metrics"]


def test_negrefcocog_equals_official_crop_argmax(adapter, enc, tmp_path):
    written = fixtures.write_negrefcocog(tmp_path / "nrc")
    [result] = _run(adapter, f"negrefcocog:{written.path}", tmp_path, image_root=str(written.image_root))
    reference = official.negrefcocog(enc, str(written.path), str(written.image_root),
                                     skip=set(written.bad_rows) | set(written.missing_images))
    assert result["task"] == "grounding" and result["dataset"] == "negrefcocog"
    assert result["metrics"]["accuracy"] == pytest.approx(reference["accuracy"], abs=1e-12)
    predictions = pq.read_table(result["predictions"]).to_pydict()
    ours = {int(i.rsplit(":", 1)[1]): c == 1.0 for i, c in zip(predictions["id"], predictions["credit"])}
    assert ours == reference["per_item"]
    assert 0 < sum(ours.values()) < len(ours) and set(predictions["correct_answer"]) == {0, 1}
    # two boxes that cut the same pixels tie exactly; argmax credits the reference only when it is first
    ties = written.extra["ties"]
    assert {i for i, t in zip(ours, predictions["tied"]) if t} == set(ties) == {i for i, t in reference["tied"].items() if t}
    assert (ours[ties[0]], ours[ties[1]]) == (True, False)
    assert result["metrics"]["ties"] == 2 and result["metrics"]["n_scored"] == len(ours)
    codes = {int(f["id"].rsplit(":", 1)[1]): f["code"] for f in result["failures"]}
    assert codes == {**written.bad_rows, written.missing_images[0]: "missing_image"}
    assert all(f["detail"] for f in result["failures"])
    assert result["metrics"]["n_failed"] == len(codes)
    rules = result["tie_rule"]["accuracy_by_rule"]
    assert rules["argmax"] - rules["wrong"] == pytest.approx(1 / len(ours))


def test_negrefcocog_shuffled_boxes_move_only_the_ties(adapter, tmp_path):
    written = fixtures.write_negrefcocog(tmp_path / "nrc")
    spec = f"negrefcocog:{written.path}"
    base = _run(adapter, spec, tmp_path / "a", image_root=str(written.image_root))[0]
    changed_any = False
    for seed in range(4):
        shuffled = _run(adapter, spec, tmp_path / f"s{seed}", image_root=str(written.image_root), shuffle_options=seed)[0]
        a, b = (pq.read_table(r["predictions"]).to_pydict() for r in (base, shuffled))
        moved = [t for x, y, t in zip(a["credit"], b["credit"], a["tied"]) if x != y]
        assert all(moved)  # a crop's score does not depend on its position: only ties can move
        changed_any |= bool(moved)
    assert changed_any


def test_negrefcocog_from_the_command_line(tiny_spec, tmp_path, capsys):
    from ccneg_bench.cli import main

    written = fixtures.write_negrefcocog(tmp_path / "nrc")
    spec, weights = tiny_spec
    code = main(["--model", spec, "--pretrained", weights, "--dataset", f"negrefcocog:{written.path}",
                 "--image-root", str(written.image_root), "--output", str(tmp_path / "out"), "--workers", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    [path] = (tmp_path / "out").glob("*grounding*.json")
    result = json.loads(path.read_text())
    assert result["metrics"]["n_failed"] == len(written.bad_rows) + 1 and "negrefcocog" in captured.out
