"""``ccneg-build push``: validation, dry run and refusals (no network: nothing is ever sent)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ccneg_build.hub import HUB_MAX_FILE_BYTES, glob_to_regex, validate_folder
from tests.scale.helpers import REPO, build_env, ccneg_build_command, run_ccneg_build

SECRET = "hf_ThisIsNotARealTokenButMustNeverBePrinted"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hub") / "built"
    done = run_ccneg_build("--out", str(out), "--limit", "60", "--no-progress", "--eval-size", "0.2")
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture
def folder(built, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    return copy


def _push(*args: str, token: str | None = SECRET, home: Path | None = None):
    env = build_env()
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    if home is not None:
        env["HF_HOME"] = str(home)
    return subprocess.run(ccneg_build_command("push", *args), env=env, capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_a_built_folder_validates_and_dry_run_lists_it_without_the_token(folder):
    report = validate_folder(folder)
    assert report.problems == []
    names = [name for name, _ in report.files]
    assert "README.md" in names and any(n.startswith("data/train-") for n in names)
    assert not any(n.startswith(".ccneg/") for n in names)  # working state is never sent
    result = _push(str(folder), "my-lab/ccneg-test", "--dry-run", "--revision", "v1")
    assert result.returncode == 0, result.stderr
    assert "would upload" in result.stdout and "my-lab/ccneg-test@v1" in result.stdout
    publication = json.loads((folder / "manifest.json").read_text())["publication"]
    assert f"data/train-00000-of-00001-{publication}.parquet" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_review_pages_and_judgments_are_never_uploaded(folder):
    """`ccneg-build review` writes a reviewer's page and marks into OUT/review/: not the dataset."""
    review = folder / "review"
    review.mkdir()
    (review / "review-accepted-seed0-n50.html").write_text("<html></html>")
    (review / "judgments.json").write_text('{"abc": "ok"}')
    names = [name for name, _ in validate_folder(folder).files]
    assert names and not any(n.startswith("review/") for n in names)
    result = _push(str(folder), "my-lab/ccneg-test", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "review/" not in result.stdout


def test_a_card_whose_yaml_does_not_parse_is_refused(folder):
    card = folder / "README.md"
    card.write_text(card.read_text().replace("configs:", "configs: [unclosed", 1))
    result = _push(str(folder), "my-lab/ccneg-test", "--dry-run")
    assert result.returncode == 2
    assert "README.md: the YAML header does not parse" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_a_config_glob_that_matches_nothing_is_refused(folder):
    card = folder / "README.md"
    _, header, body = card.read_text().split("---\n", 2)
    meta = yaml.safe_load(header)  # a card edited by hand: a glob in place of ccneg's exact files
    default = next(c for c in meta["configs"] if c["config_name"] == "default")
    next(e for e in default["data_files"] if e["split"] == "eval")["path"] = "data/validation-*.parquet"
    card.write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body)
    result = _push(str(folder), "my-lab/ccneg-test", "--dry-run")
    assert result.returncode == 2, result.stderr
    assert "config 'default' split 'eval': data_files 'data/validation-*.parquet' matches no file" in result.stderr


def test_a_file_over_the_hub_limit_is_refused(folder):
    huge = folder / "extra" / "train-99999-of-99999.parquet"
    huge.parent.mkdir()
    with huge.open("wb") as handle:  # sparse: reports the size without using the disk
        handle.truncate(HUB_MAX_FILE_BYTES + 1)
    if huge.stat().st_size <= HUB_MAX_FILE_BYTES:
        pytest.skip("this filesystem cannot make sparse files")
    report = validate_folder(folder)
    assert any("train-99999-of-99999.parquet" in p and "per-file limit" in p for p in report.problems)
    huge.unlink()


def _one_refusal(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("ccneg-build push: refused: ")
    return lines[0]


def test_a_file_changed_after_the_build_is_refused_in_one_line(folder):
    data = next((folder / "data").glob("train-*.parquet"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size, other bytes: only the sha256 tells
    data.write_bytes(bytes(raw))
    line = _one_refusal(_push(str(folder), "my-lab/ccneg-test", "--dry-run"))
    assert f"{data.relative_to(folder).as_posix()} does not have the sha256" in line and "rerun the ccneg-build" in line


def test_files_of_another_publication_are_refused_in_one_line(folder):
    stale = folder / "data" / "train-00000-of-00002-0123456789ab.parquet"
    stale.write_bytes(b"left by a killed build")
    line = _one_refusal(_push(str(folder), "my-lab/ccneg-test", "--dry-run"))
    assert "data/train-00000-of-00002-0123456789ab.parquet is not in manifest.json" in line


def test_a_build_that_accepted_no_row_is_refused_in_one_line(tmp_path):
    source = tmp_path / "unreadable.tsv"
    source.write_bytes(b"caf\xe9 on a hill\thttp://x/1.jpg\n\xff\xfe\xfd\thttp://x/2.jpg\n")
    out = tmp_path / "nothing"
    built = run_ccneg_build(str(source), "--out", str(out), "--no-progress")
    assert built.returncode == 2 and "no row was accepted" in built.stderr
    line = _one_refusal(_push(str(out), "my-lab/ccneg-test", "--dry-run"))
    assert "no published dataset" in line


def test_no_token_means_a_clear_refusal_before_any_network(folder, tmp_path):
    result = _push(str(folder), "my-lab/ccneg-test", token=None, home=tmp_path / "hf-home")
    assert result.returncode == 2
    assert "no Hugging Face token: set HF_TOKEN or run `huggingface-cli login`" in result.stderr


def test_bad_repo_ids_and_missing_folders_are_refused(tmp_path):
    assert "OWNER/NAME" in _push(str(tmp_path), "not-a-repo-id", "--dry-run").stderr
    report = validate_folder(tmp_path / "nope")
    assert report.problems and "not a folder" in report.problems[0]
    (tmp_path / "empty").mkdir()
    problems = validate_folder(tmp_path / "empty").problems
    assert len(problems) == 1 and "no ccneg dataset here" in problems[0]


def test_build_with_push_to_hub_builds_then_refuses_without_a_token(tmp_path):
    env = build_env()
    env.pop("HF_TOKEN", None)
    env["HF_HOME"] = str(tmp_path / "hf-home")  # no saved login either
    out = tmp_path / "built"
    result = subprocess.run(ccneg_build_command("--out", str(out), "--limit", "20", "--no-progress",
                                                "--push-to-hub", "my-lab/ccneg-test"),
                            env=env, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert (out / "data").is_dir() and (out / "README.md").is_file()
    assert result.returncode == 2 and "no Hugging Face token" in result.stderr


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("data/train-*.parquet", "data/train-00000-of-00002.parquet", True),
        ("data/train-*.parquet", "data/sub/train-0.parquet", False),
        ("data/**/*.parquet", "data/a/b/c.parquet", True),
        ("data/**/*.parquet", "data/c.parquet", True),
        ("rejected/*.parquet", "data/x.parquet", False),
    ],
)
def test_globs_follow_the_hub_rules(pattern, path, matches):
    assert bool(glob_to_regex(pattern).match(path)) is matches


def test_an_unreachable_hub_is_one_line_and_exit_1(folder, tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = build_env()
    env.update(HF_TOKEN=SECRET, HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HOME=str(tmp_path / "hf-home"),
               HF_HUB_OFFLINE="0", HF_HUB_ETAG_TIMEOUT="5", HF_HUB_DOWNLOAD_TIMEOUT="5")
    result = subprocess.run(ccneg_build_command("push", str(folder), "my-lab/ccneg-test"), env=env,
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert lines[0].startswith("ccneg-build push: error: cannot upload to the Hugging Face Hub at http://127.0.0.1:")
    assert SECRET not in result.stdout + result.stderr
