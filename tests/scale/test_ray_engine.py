"""``--engine ray`` gives the same dataset as the local engine (3,000 real CC3M captions)."""

from __future__ import annotations

import pytest

from ccneg_core.record import SourceRow, make_id
from tests.scale.helpers import dataset_tables, dev_tsv, run_ccneg_build

pytest.importorskip("ray.data", reason="the Ray engine needs ccneg[ray]")

from ccneg_build.engines.ray_engine import rows_from_block, rows_to_block  # noqa: E402


def test_shard_blocks_carry_every_field_of_the_input_rows():
    rows = [
        SourceRow(id=make_id("s", 0, "a dog"), source="s", source_row=0, caption="a dog", url="http://x/1.jpg",
                  image={"bytes": b"\xff\xd8\xff", "path": "1.jpg"}, labels=("dog", "pet")),
        SourceRow(id=make_id("s", 1, None), source="s", source_row=1, caption=None, error="empty_caption",
                  error_detail="the caption is blank"),
    ]
    assert rows_from_block(rows_to_block(rows)) == rows


@pytest.mark.slow
def test_ray_and_local_engines_build_identical_datasets(tmp_path):
    tsv = dev_tsv()
    if not tsv.is_file():
        pytest.skip(f"the CC3M dev file is not at {tsv} (set CCNEG_DEV_TSV)")
    common = [str(tsv), "--shard-size", "500", "--no-progress", "--workers", "2"]
    local = run_ccneg_build(*common, "--out", str(tmp_path / "local"), timeout=900)
    assert local.returncode == 0, local.stderr[-3000:]
    ray_run = run_ccneg_build(*common, "--out", str(tmp_path / "ray"), "--engine", "ray", timeout=900)
    assert ray_run.returncode == 0, ray_run.stderr[-3000:]

    local_tables, ray_tables = dataset_tables(tmp_path / "local"), dataset_tables(tmp_path / "ray")
    assert local_tables["data"].num_rows + local_tables["rejected"].num_rows == 3000
    for name in ("data", "rejected"):
        assert ray_tables[name].equals(local_tables[name]), name
    for folder in ("splits", "data"):  # the same files under the same names (the publication id included)
        assert {p.name: p.read_bytes() for p in (tmp_path / "ray" / folder).iterdir()} == \
            {p.name: p.read_bytes() for p in (tmp_path / "local" / folder).iterdir()}

    # a rerun with the Ray engine resumes every shard the local engine finished: nothing recomputed
    again = run_ccneg_build(*common, "--out", str(tmp_path / "local"), "--engine", "ray", timeout=900)
    assert again.returncode == 0 and "(6 already done)" in again.stdout, again.stdout + again.stderr[-2000:]


@pytest.mark.slow
def test_ray_actors_run_the_image_step_too(tmp_path):
    from tests.scale.helpers import sample_captions, write_tsv
    from tests.scale.image_server import ImageServer

    with ImageServer() as server:
        paths = [f"/img/{n}.{('jpg', 'png', 'webp', 'gif')[n % 4]}" for n in range(28)] + ["/status/404", "/bomb.png"]
        tsv = write_tsv(tmp_path / "captions.tsv", sample_captions(len(paths)), [server.url(p) for p in paths])
        common = [str(tsv), "--images", "download", "--image-size", "32", "--shard-size", "10", "--workers", "2",
                  "--no-progress", "--image-retries", "0", "--allow-private-addresses"]
        local = run_ccneg_build(*common, "--out", str(tmp_path / "local"))
        assert local.returncode == 0, local.stderr[-3000:]
        ray_run = run_ccneg_build(*common, "--out", str(tmp_path / "ray"), "--engine", "ray")
        assert ray_run.returncode == 0, ray_run.stderr[-3000:]
        assert server.count("/img/0.jpg") == 2  # once per engine: each really downloaded
    local_tables, ray_tables = dataset_tables(tmp_path / "local"), dataset_tables(tmp_path / "ray")
    for name in ("data", "rejected"):
        assert ray_tables[name].equals(local_tables[name]), name
    data = ray_tables["data"].to_pylist()
    assert data and all(min(_size(r["image"]["bytes"])) == 32 for r in data)  # resized in the actors
    assert {r["reason"] for r in ray_tables["rejected"].to_pylist() if r["stage"] == "image"} == \
        {"http_404", "decompression_bomb"}


def _size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data)).size
