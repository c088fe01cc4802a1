"""The resume check holds only settings that change the output: a rerun that changes a speed
setting, or an image setting of a text-only run, resumes; one that changes the seed is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ccneg_build.config import BuildConfig

from .conftest import REPO


def _published(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


def _first_run_as_a_user_types_it(out: Path) -> None:
    """``ccneg-build --out OUT --limit 40``: default flags, progress bar on, a real process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "ccneg_build.cli", "--out", str(out), "--limit", "40",
                           "--shard-size", "20"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "new run, 2 shards (0 already done)" in done.stdout
    assert "ccneg-build" in done.stderr  # the progress bar ran


def test_speed_and_image_flags_of_a_text_only_run_resume_and_a_new_seed_is_refused(build, tmp_path):
    out = tmp_path / "neg"
    _first_run_as_a_user_types_it(out)
    before = _published(out)

    code, stdout, stderr = build("--out", out, "--limit", "40", "--shard-size", "20", "--workers", "2",
                                 "--image-size", "64", "--image-format", "jpeg", "--image-max-pixels", "1000",
                                 "--ignore-optouts", "--allow-private-addresses", "--image-concurrency", "3",
                                 "--concurrency", "2", "--rpm", "30", "--verify-visual-batch-size", "4")
    assert code == 0, stderr
    assert "resume run, 2 shards (2 already done)" in stdout
    assert _published(out) == before
    manifest = json.loads((out / "manifest.json").read_text())
    assert not any(key.startswith(("image_", "verify_visual")) for key in manifest["settings"]["options"])

    record = (out / ".ccneg" / "run.json").read_bytes()
    code, stdout, stderr = build("--out", out, "--limit", "40", "--shard-size", "20", "--seed", "1")
    assert code == 2
    assert stderr.strip().count("\n") == 0 and "settings.seed" in stderr and "--overwrite" in stderr
    assert (out / ".ccneg" / "run.json").read_bytes() == record and _published(out) == before


def test_a_folder_whose_record_lists_image_flags_of_a_text_only_run_still_resumes(build, tmp_path):
    """Records written before the check ignored them hold the image flags' defaults: still a resume."""
    out = tmp_path / "neg"
    code, _, stderr = build("--out", out, "--limit", "20")
    assert code == 0, stderr
    path = out / ".ccneg" / "run.json"
    record = json.loads(path.read_text())
    record["settings"]["options"].update({"image_format": "keep", "image_quality": 90, "ignore_optouts": False,
                                          "image_max_bytes": 20971520, "image_max_pixels": 60000000,
                                          "allow_private_addresses": False})
    path.write_text(json.dumps(record))
    code, stdout, stderr = build("--out", out, "--limit", "20")
    assert code == 0, stderr
    assert "resume run, 1 shards (1 already done)" in stdout


def _resume_key(**kwargs) -> dict:
    return BuildConfig(out=Path("o"), **kwargs).resume_settings()


def test_settings_that_change_rows_enter_the_check_and_speed_settings_do_not():
    base = _resume_key(images="download", options={"image_size": 64, "image_concurrency": 8})
    assert _resume_key(images="download", options={"image_size": 64, "image_concurrency": 1}) == base
    assert _resume_key(images="download", options={"image_size": 128, "image_concurrency": 8}) != base
    assert _resume_key(images="none", options={"image_size": 64}) == _resume_key(images="none", options={})
    assert _resume_key(images="column", image_column="img", options={"image_size": 64}) == \
        _resume_key(images="column", image_column="img", options={})

    llm = _resume_key(backend="openai", options={"model": "m", "temperature": 0.7, "concurrency": 16, "rpm": 60})
    assert _resume_key(backend="openai", options={"model": "m", "temperature": 0.7, "concurrency": 2}) == llm
    assert _resume_key(backend="openai", options={"model": "m", "temperature": 0.2, "concurrency": 16}) != llm

    visual = {"verify_visual": "open_clip:ViT-B-32", "verify_visual_threshold": 0.2}
    assert _resume_key(images="download", options={**visual, "verify_visual_batch_size": 8}) == \
        _resume_key(images="download", options=visual)
    assert _resume_key(images="download", options={**visual, "verify_visual_threshold": 0.3}) != \
        _resume_key(images="download", options=visual)
    assert _resume_key(seed=1) != _resume_key(seed=0)
    assert _resume_key(limit=10) != _resume_key(limit=20)
    assert _resume_key(eval_size=BuildConfig(out=Path("o")).eval_size, rows_per_file=7) == _resume_key()
