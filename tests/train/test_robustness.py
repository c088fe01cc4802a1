"""One bad row never stops a run: undecodable images are counted, rows without text are skipped."""

from __future__ import annotations

import json

import pytest

from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.logs import read_log
from ccneg_bench.train.loop import train
from tests.helpers.data import make_rows, write_rows


@pytest.mark.parametrize("cache", ["on", "off"])
def test_broken_images_are_counted_and_empty_captions_skipped(tiny_model, tmp_path, cache):
    rows = make_rows(10, split="train")
    rows[2]["image"] = {"bytes": b"\xff\xd8 truncated jpeg", "path": "broken.jpg"}
    rows[5]["image"] = {"bytes": None, "path": "missing-file.png"}
    rows[7]["caption"] = ""
    write_rows(tmp_path / "data", rows, "train")
    config, weights = tiny_model
    summary = train(TrainConfig(
        model=f"open_clip:{config}", pretrained=str(weights), data=str(tmp_path / "data"), out=str(tmp_path / "run"),
        loss="clip", device="cpu", workers=0, batch_size=9, max_steps=1, save_every=0, eval_at_end=False,
        export=False, cache_features=cache,
    ))
    assert summary["steps"] == 1 and summary["rows"] == 9
    assert summary["skipped"] == {"no_caption": 1}
    assert summary["bad_images"] == 2
    assert read_log(tmp_path / "run" / "log.jsonl")[-1]["bad_images"] == 2
    skipped = [json.loads(line) for line in (tmp_path / "run" / "skipped.jsonl").read_text().splitlines()]
    assert skipped == [{"id": rows[7]["id"], "reason": "no_caption"}]
