"""``--verify-visual``: real tiny models built from configs, real builds, scores checked independently."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccneg_build import cli
from tests.helpers.data import write_image_input
from tests.helpers.tiny_hf import save_tiny_owlvit
from tests.helpers.tiny_models import save_tiny_checkpoint
from tests.scale.helpers import build_env

REPO = Path(__file__).resolve().parents[2]

#: Few objects in all, so that every eligible alternative fits in one choice (15 distractors).
CAPTIONS = [
    "a woman next to a table in the dining area",
    "a flag on a dome",
    "a person on skis makes her way through the snow",
    "a dog sitting on a couch in the living room",
    "aerial view of a meteor over the clouds",
    "jungle with a mountain in the distance .",
    "a cat on a table",
    "a boat on the river",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_image_input(tmp_path_factory.mktemp("corpus") / "captions.parquet", CAPTIONS, size=48)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[Path, Path]:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_clip"), seed=0)


def _data(out: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))]).to_pylist()


def _rejected(out: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted((out / "rejected").glob("*.parquet"))]).to_pylist()


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _words_in(phrase: str, text: str) -> bool:
    return re.search(r"(?<![^\W_])" + re.escape(phrase.lower()) + r"(?![^\W_])", text.lower()) is not None


def _clip_choice(config: Path, weights: Path, image_bytes: bytes, prompts: list[str]) -> float:
    """Independent restatement with open_clip alone: softmax(100 cos(I, prompts))[0]."""
    import io

    import open_clip
    import torch
    from PIL import Image

    open_clip.add_model_config(str(config))
    model, _, preprocess = open_clip.create_model_and_transforms(config.stem, pretrained=str(weights))
    tokenizer = open_clip.get_tokenizer(config.stem)
    model.eval()
    with torch.no_grad():
        image = model.encode_image(preprocess(Image.open(io.BytesIO(image_bytes)).convert("RGB")).unsqueeze(0))
        texts = model.encode_text(tokenizer(prompts))
        image = image / image.norm(dim=-1, keepdim=True)
        texts = texts / texts.norm(dim=-1, keepdim=True)
        return float(torch.softmax(100.0 * (image @ texts.T)[0], dim=0)[0])


def test_clip_choice_scores_every_row_and_matches_open_clip(corpus, tiny_clip, tmp_path):
    config, weights = tiny_clip
    out = tmp_path / "out"
    # typed as a user would: progress bars on
    done = subprocess.run(
        [sys.executable, "-m", "ccneg_build.cli", str(corpus), "--images", "column", "--image-column", "image",
         "--out", str(out), "--verify-visual", f"open_clip:{config}", "--verify-visual-pretrained", str(weights),
         "--verify-visual-threshold", "0"],
        env=build_env(), capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    rows = _data(out)
    assert len(rows) >= 4
    label = f"open_clip:{config} ({weights})"
    assert all(isinstance(r["visual_score"], float) and 0.0 < r["visual_score"] <= 1.0 for r in rows)
    assert {r["visual_model"] for r in rows} == {label}
    manifest = _manifest(out)
    assert manifest["counts"]["visual_scored"] == len(rows)
    assert "object_not_visible" not in manifest["reject_reasons"]
    assert "visual check: `" in (out / "README.md").read_text(encoding="utf-8")

    vocabulary = sorted({r["negated_object"].lower() for r in rows}
                        | {rel["object"].lower() for r in rows for rel in r["relations"]})
    for row in rows:
        obj = row["negated_object"].lower()
        others = [o for o in vocabulary if o != obj and not _words_in(o, row["caption"])
                  and not _words_in(obj, o) and not _words_in(o, obj)]
        assert len(others) <= 15, "the fixture must keep every alternative in the choice"
        expected = _clip_choice(config, weights, row["image"]["bytes"], [f"a photo of a {o}." for o in [obj] + others])
        assert row["visual_score"] == pytest.approx(expected, rel=1e-4, abs=1e-6), row["caption"]


def _build(*args: str) -> int:
    return cli.main([*map(str, args), "--no-progress"])


def test_threshold_rejects_counts_and_reuses_cached_scores(corpus, tiny_clip, tmp_path, capsys):
    config, weights = tiny_clip
    out = tmp_path / "out"
    common = [corpus, "--images", "column", "--image-column", "image", "--out", out, "--shard-size", "3",
              "--verify-visual", f"open_clip:{config}", "--verify-visual-pretrained", weights]
    assert _build(*common, "--verify-visual-threshold", "0") == 0
    scores = {r["id"]: r["visual_score"] for r in _data(out)}
    threshold = sorted(scores.values())[len(scores) // 2]
    below = {i for i, s in scores.items() if s < threshold}
    assert below and len(below) < len(scores)

    capsys.readouterr()
    assert _build(*common, "--verify-visual-threshold", repr(threshold), "--overwrite") == 0
    summary = capsys.readouterr().out
    assert re.search(r"object_not_visible\s+" + str(len(below)) + r"\b", summary)
    kept = {r["id"]: r["visual_score"] for r in _data(out)}
    assert set(kept) == set(scores) - below and all(kept[i] == scores[i] for i in kept)
    moved = [r for r in _rejected(out) if r["reason"] == "object_not_visible"]
    assert {r["id"] for r in moved} == below
    assert all(r["stage"] == "visual" and r["negated_caption"] and "visual score" in r["detail"] for r in moved)
    manifest = _manifest(out)
    assert manifest["reject_reasons"]["object_not_visible"] == len(below)
    assert manifest["rejects_by_stage"]["visual"] == len(below)
    assert manifest["counts"]["accepted"] == len(kept) == sum(manifest["counts"]["splits"].values())
    assert manifest["counts"]["visual_cache_hits"] == len(scores) and "visual_scored" not in manifest["counts"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| `object_not_visible` | " + str(len(below)) + " |" in card
    listed = [i for path in (out / "splits").glob("*.txt") for i in path.read_text().split()]
    assert sorted(listed) == sorted(kept)


def test_a_rerun_scores_only_the_shards_without_a_marker(corpus, tiny_clip, tmp_path):
    config, weights = tiny_clip
    out = tmp_path / "out"
    args = [corpus, "--images", "column", "--image-column", "image", "--out", out, "--shard-size", "3",
            "--verify-visual", f"open_clip:{config}", "--verify-visual-pretrained", weights,
            "--verify-visual-threshold", "0"]  # the random tiny model would reject every row: nothing to publish
    assert _build(*args) == 0
    before = {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))
              + sorted((out / "rejected").glob("*.parquet"))}
    parts = out / ".ccneg" / "parts"
    sidecars = sorted(parts.glob("*.visual.parquet"))
    assert len(sidecars) == 3
    times = {p.name: p.stat().st_mtime_ns for p in sidecars}
    # as if the run died in the visual pass of the second shard, and the cache were lost too
    (parts / sidecars[1].name.replace(".parquet", ".json")).unlink()
    sidecars[1].unlink()
    for path in (out / ".ccneg" / "cache" / "visual").glob("*"):
        path.unlink()
    assert _build(*args) == 0
    after = {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))
             + sorted((out / "rejected").glob("*.parquet"))}
    assert after == before
    assert sidecars[1].exists()
    assert [sidecars[0].stat().st_mtime_ns, sidecars[2].stat().st_mtime_ns] == \
        [times[sidecars[0].name], times[sidecars[2].name]]
    assert _manifest(out)["run"]["mode"] == "resume"


def test_detector_scores_are_the_best_box_probability(corpus, tmp_path):
    import torch
    from PIL import Image
    from transformers import OwlViTForObjectDetection, OwlViTProcessor

    folder = save_tiny_owlvit(tmp_path / "owl")
    out = tmp_path / "out"
    assert _build(corpus, "--images", "column", "--image-column", "image", "--out", out,
                  "--verify-visual", f"hf-detector:{folder}", "--verify-visual-threshold", "0") == 0
    rows = _data(out)
    assert rows and {r["visual_model"] for r in rows} == {f"hf-detector:{folder}"}
    processor = OwlViTProcessor.from_pretrained(folder)
    model = OwlViTForObjectDetection.from_pretrained(folder).eval()
    import io

    for row in rows:
        image = Image.open(io.BytesIO(row["image"]["bytes"])).convert("RGB")
        inputs = processor(text=[[f"a photo of a {row['negated_object'].lower()}."]], images=[image],
                           return_tensors="pt")
        with torch.no_grad():
            logits = model(**inputs).logits[0, :, 0]
        expected = max(1.0 / (1.0 + math.exp(-float(v))) for v in logits)
        assert row["visual_score"] == pytest.approx(expected, rel=1e-4, abs=1e-9)
    manifest = _manifest(out)
    assert manifest["settings"]["options"]["verify_visual"] == f"hf-detector:{folder}"


@pytest.mark.parametrize("extra,message", [
    (["--verify-visual", "open_clip:ViT-B-32"], "--verify-visual needs images"),
    (["--images", "column", "--image-column", "image", "--verify-visual", "nosuch:thing"], "unknown model kind"),
    (["--images", "column", "--image-column", "image", "--verify-visual", "text:negation-words"], "text-only"),
    (["--images", "column", "--image-column", "image", "--verify-visual", "hf-detector:x",
      "--verify-visual-threshold", "2"], "between 0 and 1"),
])
def test_impossible_settings_fail_before_anything_is_written(corpus, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert _build(corpus, "--out", out, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_reason_codes_list_the_visual_ones(capsys):
    assert cli.main(["reasons"]) == 0
    assert "object_not_visible" in capsys.readouterr().out
