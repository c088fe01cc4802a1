"""``ccneg-train mine-distractors --verify-absence``: the real console script with a tiny random
open_clip model and a tiny OWL-ViT, every kept score and every drop checked independently, and
the order of the checks (lazy, in rank order) restated by hand.

The pool is an image folder (no recorded hashes) holding, besides ordinary pictures, a byte
copy of one sample's image and a re-encoded (JPEG) copy of another's: the first must be dropped
as ``duplicate_image``, the second as ``near_duplicate``, and nothing else as either.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from tests.helpers.data import draw_image, make_rows, write_rows
from tests.helpers.tiny_hf import save_tiny_owlvit
from tests.train.conftest import REPO, child_env

OBJECTS = ("table", "dome", "snow", "tree", "car", "boat", "house", "cloud")  # tests.helpers.data's vocabulary
#: above the cosine of any two different pictures under the tiny random model, below a re-encoded copy's
SIMILARITY = "0.999"
SUBJECT = "picture"


def _command() -> str:
    script = Path(sys.executable).parent / "ccneg-train"
    return str(script) if script.exists() else "ccneg-train"


def _mine(*args: object, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([_command(), "mine-distractors", *map(str, args)], capture_output=True, text=True,
                          env=child_env(), cwd=REPO, timeout=600)
    assert proc.returncode == expect, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(dataset folder, pool folder, the samples by id) with the two planted copies."""
    root = tmp_path_factory.mktemp("absence")
    rows = make_rows(8, split="train", source="absence", seed=0)
    for row in rows:  # a subject the tiny random model does not score near zero whatever the image
        for key in ("caption", "negated_caption", "exclusion_caption", "subject"):
            row[key] = row[key].replace("shape", SUBJECT)
    write_rows(root / "ds", rows, "train")
    pool = root / "pool"
    pool.mkdir()
    for j in range(10):
        (pool / f"other{j}.png").write_bytes(draw_image(500 + j))
    (pool / "copy.png").write_bytes(rows[0]["image"]["bytes"])
    buffer = io.BytesIO()
    Image.open(io.BytesIO(rows[1]["image"]["bytes"])).convert("RGB").save(buffer, format="JPEG", quality=95)
    (pool / "near.jpg").write_bytes(buffer.getvalue())
    return root / "ds", pool, {r["id"]: r for r in rows}


def _open_clip(config: Path, weights: Path):
    import open_clip

    open_clip.add_model_config(str(config))
    model, _, preprocess = open_clip.create_model_and_transforms(config.stem, pretrained=str(weights))
    return model.eval(), preprocess, open_clip.get_tokenizer(config.stem)


def _image_features(model, preprocess, images: list[bytes]) -> torch.Tensor:
    with torch.no_grad():
        pixels = torch.stack([preprocess(Image.open(io.BytesIO(b)).convert("RGB")) for b in images])
        return torch.nn.functional.normalize(model.encode_image(pixels), dim=-1)


def _choice(model, tokenizer, image: torch.Tensor, prompts: list[str]) -> float:
    with torch.no_grad():
        texts = torch.nn.functional.normalize(model.encode_text(tokenizer(prompts)), dim=-1)
    return float(torch.softmax(100.0 * (texts @ image), dim=0)[0])


def _read(folder: Path) -> tuple[dict, list[dict], list[dict], dict]:
    out = folder / "distractors"
    assignments = pq.read_table(out / "assignments.parquet").to_pylist()
    dropped = pq.read_table(out / "dropped.parquet").to_pylist()
    images = {r["image_id"]: r["image"]["bytes"] for r in pq.read_table(out / "images.parquet").to_pylist()}
    return json.loads((out / "manifest.json").read_text()), assignments, dropped, images


def test_clip_verifier_scores_drops_duplicates_and_reuses_its_scores(world, tiny_model):
    data, pool, samples = world
    config, weights = tiny_model
    model = ["--model", f"open_clip:{config}", "--pretrained", weights, "--device", "cpu", "--workers", "0"]
    verifier = ["--verify-absence", f"open_clip:{config}", "--verify-absence-pretrained", weights,
                "--duplicate-similarity", SIMILARITY]
    # k = pool size: every candidate of every sample is checked; threshold 1 and no subject check:
    # only duplicates are dropped
    first = _mine("--data", data, "--pool", pool, *model, *verifier, "--k", 12, "--verify-absence-threshold", 1,
                  "--no-verify-subject")
    manifest, assignments, dropped, images = _read(data)
    checks = manifest["verify_absence"]
    assert checks["checked"] == 8 * 12 and checks["kept"] + sum(checks["dropped"].values()) == checks["checked"]
    assert {(d["id"], d["candidate_id"], d["reason"]) for d in dropped} == {
        (list(samples)[0], "copy.png", "duplicate_image"), (list(samples)[1], "near.jpg", "near_duplicate")}
    assert checks["dropped"] == {"duplicate_image": 1, "near_duplicate": 1, "object_present": 0,
                                 "subject_absent": 0, "candidate_unreadable": 0}
    assert all(s is None for a in assignments for s in a["subject_scores"])
    assert "verified with open_clip:" in first.stdout and "duplicate_image x1" in first.stdout
    assert set(images) == {d for a in assignments for d in a["distractor_ids"]}

    # every kept score is the verifier's choice probability, restated with open_clip alone
    clip, preprocess, tokenizer = _open_clip(config, weights)
    pool_bytes = {p.name: p.read_bytes() for p in pool.iterdir()}
    names = sorted(pool_bytes)
    features = dict(zip(names, _image_features(clip, preprocess, [pool_bytes[n] for n in names])))
    own = dict(zip(samples, _image_features(clip, preprocess, [r["image"]["bytes"] for r in samples.values()])))
    scores = {}
    for row in assignments:
        sample = samples[row["id"]]
        obj = sample["negated_object"]
        # the caption's other things first (the subject, the other relations' objects), then the vocabulary:
        # with this small vocabulary every eligible object is an alternative, so their order does not matter
        alternatives = [SUBJECT] + [o for o in OBJECTS if o != obj]
        assert len(row["distractor_ids"]) == len(row["object_scores"]) == 12 - sum(d["id"] == row["id"] for d in dropped)
        for candidate, score in zip(row["distractor_ids"], row["object_scores"]):
            restated = _choice(clip, tokenizer, features[candidate], [f"a photo of a {o}." for o in [obj] + alternatives])
            assert score == pytest.approx(restated, rel=1e-4, abs=1e-6)
            assert float(features[candidate] @ own[row["id"]]) < float(SIMILARITY)
            scores[(row["id"], candidate)] = score
        assert row["distractor_scores"] == sorted(row["distractor_scores"], reverse=True)

    # each sample's candidates in rank order (run 1 checked them all), and every subject score, restated
    ranked = {}
    for row in assignments:
        mine = [(d["rank"], d["candidate_id"], d["reason"]) for d in dropped if d["id"] == row["id"]]
        free = iter(r for r in range(1, 13) if r not in {m[0] for m in mine})
        mine += [(next(free), c, None) for c in row["distractor_ids"]]
        ranked[row["id"]] = [(c, reason) for _, c, reason in sorted(mine)]
    subject = {(i, c): _choice(clip, tokenizer, features[c],
                               [f"a photo of a {o}." for o in [SUBJECT] + [o for o in OBJECTS if o != r["negated_object"]]])
               for i, r in samples.items() for c, _ in ranked[i]}

    def expected(threshold: float) -> tuple[dict[str, str | None], list[tuple[str, str, str]]]:
        """The lazy check with k = 1, by hand: walk each sample's candidates until one passes."""
        kept, drops = {}, []
        for i, candidates in ranked.items():
            kept[i] = None
            for c, duplicate in candidates:
                reason = duplicate or ("object_present" if scores[(i, c)] >= threshold else
                                       "subject_absent" if subject[(i, c)] < threshold else None)
                if reason is None:
                    kept[i] = c
                    break
                drops.append((i, c, reason))
        return kept, drops

    # one threshold that drops for a present object and one that drops for an absent subject (their
    # ranges barely overlap under a random model), each keeping some samples: the run must match the walk
    asked: set[tuple[str, str]] = set()
    for reason in ("object_present", "subject_absent"):
        threshold = next(t for t in sorted(set(scores.values()) | set(subject.values()))
                         if (lambda kept, drops: any(kept.values()) and reason in {r for *_, r in drops})(*expected(t)))
        _check_run(data, pool, [*model, *verifier], threshold, expected(threshold), scores, subject, asked)


def _check_run(data: Path, pool: Path, args: list, threshold: float, want: tuple, scores: dict, subject: dict,
               asked: set) -> None:
    """Mine with k = 1 at ``threshold`` and compare everything with the by-hand walk ``want``."""
    want_kept, want_drops = want
    _mine("--data", data, "--pool", pool, *args, "--k", 1, "--verify-candidates", 12,
          "--verify-absence-threshold", repr(threshold))
    manifest, assignments, dropped, images = _read(data)
    checks = manifest["verify_absence"]
    assert {a["id"]: (a["distractor_ids"] or [None])[0] for a in assignments} == want_kept
    assert sorted((d["id"], d["candidate_id"], d["reason"]) for d in dropped) == sorted(want_drops)
    by_reason = Counter(d["reason"] for d in dropped)
    assert checks["dropped"] == {r: by_reason.get(r, 0) for r in checks["dropped"]}
    assert checks["checked"] == len(dropped) + checks["kept"]
    # every object was scored by the first run: only subject questions not asked before are scored
    subject_pairs = {(a["id"], a["distractor_ids"][0]) for a in assignments if a["distractor_ids"]} | {
        (d["id"], d["candidate_id"]) for d in dropped if d["reason"] == "subject_absent"}
    assert checks["scored"] == len(subject_pairs - asked)
    assert checks["score_cache_hits"] == len(subject_pairs & asked) + len(subject_pairs) + by_reason["object_present"]
    asked |= subject_pairs
    for d in dropped:
        if d["reason"] in ("object_present", "subject_absent"):
            assert d["object_score"] == pytest.approx(scores[(d["id"], d["candidate_id"])], rel=1e-6)
        if d["reason"] == "subject_absent":
            assert d["subject_score"] == pytest.approx(subject[(d["id"], d["candidate_id"])], rel=1e-4, abs=1e-6)
        if d["reason"] == "object_present":
            assert d["subject_score"] is None
    for row in assignments:
        mine = sorted((d for d in dropped if d["id"] == row["id"]), key=lambda d: d["rank"])
        assert [d["rank"] for d in mine] == list(range(1, len(mine) + 1))  # checked in rank order, none skipped
        if row["distractor_ids"]:
            (candidate,), (score,), (subject_score,) = row["distractor_ids"], row["object_scores"], row["subject_scores"]
            assert score == pytest.approx(scores[(row["id"], candidate)], rel=1e-6)
            assert subject_score == pytest.approx(subject[(row["id"], candidate)], rel=1e-4, abs=1e-6)
            assert all(d["mining_score"] >= row["distractor_scores"][0] for d in mine)
    assert manifest["skipped"]["no_verified_candidate"] == sum(1 for a in assignments if not a["distractor_ids"])
    assert set(images) == {d for a in assignments for d in a["distractor_ids"]}


def test_detector_verifier_keeps_the_best_box_score(world, tiny_model, tmp_path):
    from transformers import OwlViTForObjectDetection, OwlViTProcessor

    data, pool, samples = world
    config, weights = tiny_model
    owl = save_tiny_owlvit(tmp_path / "owl")
    out = tmp_path / "mined"
    _mine("--data", data, "--pool", pool, "--model", f"open_clip:{config}", "--pretrained", weights, "--device", "cpu",
          "--workers", "0", "--out", out, "--k", 2, "--verify-absence", f"hf-detector:{owl}",
          "--verify-absence-threshold", 1, "--no-verify-subject", "--duplicate-similarity", SIMILARITY)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["verify_absence"]["model"] == f"hf-detector:{owl}"
    processor = OwlViTProcessor.from_pretrained(owl)
    detector = OwlViTForObjectDetection.from_pretrained(owl).eval()
    rows = pq.read_table(out / "assignments.parquet").to_pylist()
    assert len(rows) == 8 and all(len(r["object_scores"]) == 2 for r in rows)
    for row in rows:
        for candidate, score in zip(row["distractor_ids"], row["object_scores"]):
            image = Image.open(pool / candidate).convert("RGB")
            inputs = processor(text=[[f"a photo of a {samples[row['id']]['negated_object']}."]], images=[image],
                               return_tensors="pt")
            with torch.no_grad():
                logits = detector(**inputs).logits[0, :, 0]
            assert score == pytest.approx(max(1.0 / (1.0 + math.exp(-float(v))) for v in logits), rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("extra, expected", [
    (["--duplicate-similarity", "0.9"], "--duplicate-similarity sets the absence check; add --verify-absence"),
    (["--no-verify-subject"], "--no-verify-subject sets the absence check; add --verify-absence"),
    (["--verify-absence", "text:negation-words"], "a text-only model cannot look at images"),
    (["--verify-absence", "hf-detector:"], "hf-detector:ID needs a model id or folder"),
    (["--verify-absence", "nosuchkind:x"], "--verify-absence nosuchkind:x: unknown model kind"),
    (["--verify-absence", "hf-detector:x", "--verify-absence-threshold", "2"], "give a score between 0 and 1"),
    (["--verify-absence", "hf-detector:x", "--k", "3", "--verify-candidates", "2"], "must be at least --k (3)"),
])
def test_absence_flags_are_checked_before_any_model_loads(world, tiny_model, extra, expected, capsys):
    from ccneg_bench.train.cli import main

    data, pool, _ = world
    code = main(["mine-distractors", "--data", str(data), "--pool", str(pool), "--model", f"open_clip:{tiny_model[0]}",
                 "--out", str(pool.parent / "never"), *extra])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and expected in lines[0], lines
    assert not (pool.parent / "never").exists()
