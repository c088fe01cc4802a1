"""``ccneg-build tour-inputs``: the quick tour's input files, written from what the package ships."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
from PIL import Image

from ccneg_build.cli import main
from ccneg_build.tour import TOUR_MODEL_CONFIG, VIEW_SIDE, tour_views


def test_writes_captioned_views_and_a_model_config(tmp_path, capsys) -> None:
    assert main(["tour-inputs", str(tmp_path / "tour")]) == 0
    table = pq.read_table(tmp_path / "tour" / "photos.parquet").to_pylist()
    views = tour_views()
    assert [row["caption"] for row in table] == [view.caption for view in views] and len(table) == 32
    for row in table:
        with Image.open(io.BytesIO(row["image"]["bytes"])) as image:
            assert image.format == "JPEG" and max(image.size) <= VIEW_SIDE and min(image.size) >= 16
    assert len({row["image"]["bytes"] for row in table}) == len(table), "every view is its own picture"
    assert json.loads((tmp_path / "tour" / "tiny-clip.json").read_text()) == TOUR_MODEL_CONFIG
    credits = (tmp_path / "tour" / "CREDITS.md").read_text()
    assert all(view.photo in credits for view in views)
    assert "next: ccneg-build" in capsys.readouterr().out


def test_the_same_files_on_every_run(tmp_path) -> None:
    for name in ("a", "b"):
        assert main(["tour-inputs", str(tmp_path / name)]) == 0
    for file in ("photos.parquet", "tiny-clip.json", "CREDITS.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_a_file_for_the_folder_is_one_line(tmp_path, capsys) -> None:
    target = tmp_path / "taken"
    target.write_text("mine")
    assert main(["tour-inputs", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and target.read_text() == "mine"
