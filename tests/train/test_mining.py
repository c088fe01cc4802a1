"""Distractor mining: a true top-k of sim(image, exclusion) - sim(image, object), never the
sample's own image, cached pool features, self-contained output files."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from ccneg_core.image_decode import decode_image
from ccneg_bench.models.registry import load_model
from ccneg_bench.mining import mine_distractors, streaming_top_k
from tests.helpers.data import make_rows, write_rows


def test_streaming_top_k_equals_brute_force():
    gen = torch.Generator().manual_seed(0)
    queries, pool = torch.randn(23, 8, generator=gen), torch.randn(57, 8, generator=gen)
    exclude = torch.randint(-1, 57, (23,), generator=gen)
    valid = torch.rand(57, generator=gen) > 0.2
    scores, rows = streaming_top_k(queries, pool, 4, exclude, valid, query_block=5, pool_block=7)
    full = queries @ pool.t()
    full[:, ~valid] = -torch.inf
    for i, own in enumerate(exclude.tolist()):
        if own >= 0:
            full[i, own] = -torch.inf
    expected_scores, expected_rows = full.topk(4, dim=1)
    assert torch.equal(rows, expected_rows)
    torch.testing.assert_close(scores, expected_scores)


@pytest.fixture()
def dataset(tmp_path):
    folder = tmp_path / "ds"
    write_rows(folder, make_rows(20, split="train", source="s-train", seed=0), "train")
    write_rows(folder, make_rows(10, split="eval", source="s-eval", seed=3), "eval")
    return folder


def _brute_force(adapter, data, split, k):
    """Independent scoring: every image decoded and encoded one by one, every pair scored."""
    table = pq.read_table(data / "data" / f"{split}-00000-of-00001.parquet").to_pylist()
    transform = adapter.image_transform()
    with torch.no_grad():
        images = torch.nn.functional.normalize(torch.cat(
            [adapter.encode_images(transform(decode_image(r["image"])).unsqueeze(0)) for r in table]), dim=-1)
        expected = {}
        for r in table:
            e = torch.nn.functional.normalize(adapter.encode_texts([r["exclusion_caption"]]), dim=-1)[0]
            o = torch.nn.functional.normalize(adapter.encode_texts([r["negated_object"]]), dim=-1)[0]
            scores = images @ e - images @ o
            order = [j for j in torch.argsort(scores, descending=True).tolist() if table[j]["id"] != r["id"]][:k]
            expected[r["id"]] = ([table[j]["id"] for j in order], [float(scores[j]) for j in order])
    return expected


def test_mined_top_k_matches_brute_force_and_files_are_self_contained(dataset, tiny_model, tmp_path):
    config, weights = tiny_model
    kwargs = dict(model=f"open_clip:{config}", pretrained=str(weights), device="cpu", workers=0, progress=False)
    first = mine_distractors(str(dataset), str(dataset), k=3, split="train", pool_split="train", **kwargs)
    assert first["mined"] == 20 and first["skipped"]["no_candidate"] == 0

    adapter = load_model(f"open_clip:{config}", pretrained=str(weights), device="cpu")
    expected = _brute_force(adapter, dataset, "train", 3)
    assignments = pq.read_table(dataset / "distractors" / "assignments.parquet")
    assert assignments.schema.field("distractor_ids").type == pa.list_(pa.string())
    assert assignments.schema.field("distractor_scores").type == pa.list_(pa.float32())
    for row in assignments.to_pylist():
        ids, scores = expected[row["id"]]
        assert row["id"] not in row["distractor_ids"]
        assert row["distractor_ids"] == ids
        np.testing.assert_allclose(row["distractor_scores"], scores, rtol=1e-4, atol=1e-5)
        assert row["distractor_scores"] == sorted(row["distractor_scores"], reverse=True)

    images = pq.read_table(dataset / "distractors" / "images.parquet").to_pylist()
    stored = {r["image_id"]: r["image"] for r in images}
    referenced = {d for row in assignments.to_pylist() for d in row["distractor_ids"]}
    assert set(stored) == referenced
    assert all(Image.open(io.BytesIO(stored[i]["bytes"])).size for i in referenced)

    # the eval split against its own pool, into the same folder: both splits end up assigned
    second = mine_distractors(str(dataset), str(dataset), k=2, split="eval", pool_split="eval", **kwargs)
    assert second["mined"] == 10
    merged = pq.read_table(dataset / "distractors" / "assignments.parquet").to_pylist()
    assert len(merged) == 30
    eval_ids = set(pq.read_table(dataset / "data" / "eval-00000-of-00001.parquet", columns=["id"]).column(0).to_pylist())
    for row in merged:
        assert (row["id"] in eval_ids) == all(d in eval_ids for d in row["distractor_ids"])

    # pool features are cached: a rerun decodes no image
    again = mine_distractors(str(dataset), str(dataset), k=3, split="train", pool_split="train", **kwargs)
    assert again["pool_cache"]["images_decoded"] == 0
    assert again["pool_cache"]["chunks_from_cache"] == again["pool_cache"]["chunks"]


def test_image_folder_pool_and_broken_pool_images(dataset, tiny_model, tmp_path):
    config, weights = tiny_model
    pool = tmp_path / "pool"
    (pool / "sub").mkdir(parents=True)
    for i, colour in enumerate(["red", "blue", "green", "yellow"]):
        Image.new("RGB", (40, 40), colour).save(pool / ("sub" if i % 2 else "") / f"img{i}.png")
    (pool / "broken.jpg").write_bytes(b"not a jpeg")
    manifest = mine_distractors(str(dataset), str(pool), model=f"open_clip:{config}", pretrained=str(weights), k=3,
                                split="eval", out=str(tmp_path / "out"), device="cpu", workers=0, progress=False)
    assert manifest["pool_images"] == 5 and manifest["pool_images_failed"] == 1
    rows = pq.read_table(tmp_path / "out" / "assignments.parquet").to_pylist()
    assert len(rows) == 10
    for row in rows:
        assert len(row["distractor_ids"]) == 3 and "broken.jpg" not in row["distractor_ids"]
    assert {"img0.png", "sub/img1.png"} & {d for r in rows for d in r["distractor_ids"]}


def test_mine_distractors_command_line(dataset, tiny_model, capsys):
    from ccneg_bench.train.cli import main

    config, weights = tiny_model
    code = main(["mine-distractors", "--data", str(dataset), "--pool", str(dataset), "--pool-split", "train",
                 "--model", f"open_clip:{config}", "--pretrained", str(weights), "--k", "2", "--device", "cpu",
                 "--workers", "0"])
    assert code == 0
    printed = capsys.readouterr().out  # a short summary, not the manifest
    assert len(printed.splitlines()) <= 4 and not printed.lstrip().startswith("{")
    assert "total: 30 samples with up to 2 distractors each" in printed and "manifest.json" in printed
    rows = pq.read_table(dataset / "distractors" / "assignments.parquet").to_pylist()
    assert len(rows) == 30 and all(len(r["distractor_ids"]) == 2 for r in rows)
    assert json.loads((dataset / "distractors" / "manifest.json").read_text())["pool_split"] == "train"
    assert main(["mine-distractors", "--data", str(dataset), "--pool", str(dataset / "nothing"),
                 "--model", f"open_clip:{config}", "--pretrained", str(weights)]) == 2
    assert "--pool" in capsys.readouterr().err


def test_self_pool_keeps_splits_apart_by_default(dataset, tiny_model):
    config, weights = tiny_model
    manifest = mine_distractors(str(dataset), str(dataset), model=f"open_clip:{config}", pretrained=str(weights), k=3,
                                device="cpu", workers=0, progress=False)
    assert manifest["mined"] == 30 and [m["pool_split"] for m in manifest["per_split"]] == ["eval", "train"]
    split_of = {}
    for split in ("train", "eval"):
        for i in pq.read_table(dataset / "data" / f"{split}-00000-of-00001.parquet", columns=["id"]).column(0).to_pylist():
            split_of[i] = split
    for row in pq.read_table(dataset / "distractors" / "assignments.parquet").to_pylist():
        assert row["distractor_ids"] and {split_of[d] for d in row["distractor_ids"]} == {split_of[row["id"]]}
