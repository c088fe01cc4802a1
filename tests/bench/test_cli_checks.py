"""ccneg-bench checks every argument before loading anything: one line, exit 2 for usage, 1 for
network; the shared --pretrained default; help for every option; result files follow the umask."""

from __future__ import annotations

import argparse
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ccneg_bench.cli import build_parser, main
from tests.helpers.data import write_ccneg_folder

REPO = Path(__file__).resolve().parents[2]


def _bench(*args: str, env: dict[str, str] | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    """``ccneg-bench ARGS`` in a fresh interpreter, as a user types it (progress bars on)."""
    environment = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "ccneg_bench.cli", *args], capture_output=True, text=True,
                          env=environment, cwd=REPO, timeout=300,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def dataset(tmp_path):
    return write_ccneg_folder(tmp_path / "ds", n=8)


@pytest.mark.parametrize("args, expected", [
    (["--batch-size", "0"], "--batch-size: must be at least 1"),
    (["--workers", "-1"], "--workers: must be 0 or more"),
    (["--task", "cneg"], "unknown task 'cneg'"),
    (["--pretrained", "/nowhere/weights.safetensors"], "weights file not found"),
    (["--pretrained", "opena"], "no such tag for ViT-B-32 (tags: openai"),
    (["--model", "open_clip:ViT-B-33"], "open_clip has no architecture 'ViT-B-33'; did you mean ViT-B-32"),
    (["--model", "conclip:/nowhere/conclip.pt"], "checkpoint file not found"),
    (["--device", "tpu"], "--device tpu: not a device"),
    (["--split", "test", "--pretrained", "none"], "available splits: eval"),
])
def test_bad_arguments_are_one_line_usage_errors_before_loading(dataset, tmp_path, capsys, monkeypatch, args, expected):
    import open_clip

    def never(*_, **__):  # nothing may be built for an argument that cannot work
        raise AssertionError("a model was built before the arguments were checked")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", never)
    base = {"--model": "open_clip:ViT-B-32", "--dataset": str(dataset), "--output": str(tmp_path / "out")}
    flags = [x for k, v in base.items() if k not in args for x in (k, v)]
    assert _exit_code([*flags, *args]) == 2
    line = _one_line(capsys.readouterr().err)
    assert expected in line
    assert not (tmp_path / "out").exists()


def _exit_code(argv: list[str]) -> int:
    """main()'s status, also when argparse ends the process itself."""
    try:
        return main(argv)
    except SystemExit as exit_info:
        return int(exit_info.code)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_is_one_line(dataset, tmp_path):
    proc = _bench("--model", "text:negation-words", "--dataset", str(dataset), "--output", str(tmp_path / "o"),
                  "--device", "cuda")
    assert proc.returncode == 2
    assert "--device cuda: no CUDA GPU is visible" in _one_line(proc.stderr)


def test_default_pretrained_offline_fails_at_once_saying_how_to_use_local_weights(dataset, tmp_path):
    """No --pretrained: the default (openai) is not on this machine and HF_HUB_OFFLINE is set."""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = _bench("--model", "open_clip:ViT-B-32", "--dataset", str(dataset), "--output", str(tmp_path / "o"), env=env)
    assert proc.returncode == 1
    line = _one_line(proc.stderr)
    assert "open_clip:ViT-B-32 --pretrained openai" in line and "HF_HUB_OFFLINE" in line
    assert "--pretrained /path/to/weights.safetensors" in line
    assert not (tmp_path / "o").exists()


def test_unreachable_hub_fails_within_the_probe_timeout(dataset, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on: the connection is refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HOME": str(tmp_path / "hf"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = _bench("--model", "open_clip:ViT-B-32", "--pretrained", "laion2b_s34b_b79k", "--dataset", str(dataset),
                  "--output", str(tmp_path / "o"), env=env)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port} cannot be reached" in _one_line(proc.stderr)


def test_pretrained_default_is_shared_and_shown_in_help():
    from ccneg_bench.models.registry import resolve_pretrained
    from ccneg_bench.train.cli import _mine_parser, _train_parser, config_from_args

    for parser in (build_parser(), _train_parser(), _mine_parser()):
        text = " ".join(parser.format_help().split())
        assert "Default: 'openai' for an open_clip architecture name" in text, parser.prog
    assert resolve_pretrained("open_clip:ViT-B-16", None) == "openai"  # bench and mine-distractors
    assert config_from_args(_train_parser().parse_args(["--data", "d", "--out", "o"])).pretrained == "openai"
    assert resolve_pretrained("open_clip:/some/export", None) is None
    assert resolve_pretrained("hf:org/name", None) is None
    assert resolve_pretrained("open_clip:ViT-B-32", "none") == "none"


def _parsers() -> list[argparse.ArgumentParser]:
    from ccneg_bench.report import build_parser as report_parser
    from ccneg_bench.train.cli import _export_parser, _mine_parser, _train_parser

    return [build_parser(), report_parser(), _train_parser(), _mine_parser(), _export_parser()]


def test_every_option_has_a_help_text_and_no_empty_default():
    for parser in _parsers():
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help.strip(), f"{parser.prog} {action.option_strings or action.dest}"
        text = parser.format_help()
        assert "(default: None)" not in text, parser.prog
        for entry in text.split("\n  -"):
            assert entry.count("(default:") + entry.count("Default:") <= 1, entry


def test_result_files_and_report_follow_the_umask(tiny_spec, dataset, tmp_path):
    spec, weights = tiny_spec
    out = tmp_path / "results"
    proc = _bench("--model", spec, "--pretrained", weights, "--model", "text:negation-words", "--pretrained", "none",
                  "--dataset", str(dataset), "--output", str(out), "--save-predictions", "--task", "ccneg",
                  "--task", "retrieval", "--bootstrap", "20", umask=0o027)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = list(out.iterdir())
    assert len(files) == 8
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o640}  # 0666 minus the umask, not 0600
    previous = os.umask(0o022)
    try:
        assert main(["report", str(out), "--output", str(tmp_path / "report")]) == 0
    finally:
        os.umask(previous)
    written = list((tmp_path / "report").iterdir())
    assert {"results.csv", "leaderboard.md", "retrieval.png", "margin_histogram.png"} <= {f.name for f in written}
    assert {stat.S_IMODE(f.stat().st_mode) for f in written} == {0o644}


def test_no_images_is_an_error_for_image_models_and_text_models_still_score(tiny_spec, tmp_path, capsys):
    from tests.helpers.data import make_rows, write_rows

    spec, weights = tiny_spec
    rows = make_rows(6)
    for row in rows:
        row["image"] = None
    write_rows(tmp_path / "ds", rows, "eval")
    code = main(["--model", spec, "--pretrained", weights, "--model", "text:negation-words", "--pretrained", "none",
                 "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "o"), "--workers", "0", "--no-progress"])
    assert code == 1
    captured = capsys.readouterr()
    assert "has no images" in captured.err and "text:negation-words" in captured.err
    assert "acc 100.00%" in captured.out  # the text-only baseline scored it
