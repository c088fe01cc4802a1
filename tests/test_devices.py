"""``--device`` and ``--precision`` are one thing in ccneg-build, ccneg-bench and ccneg-train.

Every command takes the same spellings, checks them before any model is built, resolves them
by the same rule and refuses a bad one with the same one-line message (exit 2). The
acceptance runs go through each command's own argument checks in-process (nothing may be
built); the refusals run each command as a user types it, in a fresh interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers.data import make_rows, write_ccneg_folder, write_image_input, write_rows

REPO = Path(__file__).resolve().parents[1]

#: Spellings every command accepts on any machine (the GPU ones are refused without a GPU,
#: by the same message everywhere: see test_the_same_bad_value_is_the_same_one_line_error).
DEVICES = ["auto", "cpu"]
PRECISIONS = ["auto", "amp", "fp32", "bf16"]

#: What each spelling runs at on a machine without a GPU, restated from the help text.
CPU_RUNS_AT = {"auto": "fp32", "amp": "fp32", "fp32": "fp32", "bf16": "bf16"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("devices")
    train = root / "train_data"
    write_rows(train, make_rows(8, split="train", source="train-src"), "train")
    return {
        "captions": write_image_input(root / "captions.parquet", ["a dog on a couch", "a flag on a dome"], size=32),
        "bench": write_ccneg_folder(root / "bench_data", n=4),
        "train": train,
    }


@pytest.fixture()
def nothing_built(monkeypatch):
    import open_clip

    def never(*_, **__):
        raise AssertionError("a model was built while checking arguments")

    monkeypatch.setattr(open_clip, "create_model_and_transforms", never)


def _build_argv(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [str(inputs["captions"]), "--images", "column", "--image-column", "image", "--verify-visual",
            "open_clip:ViT-B-32", "--verify-visual-pretrained", "none", "--out", str(out), *extra]


def _bench_argv(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["--model", "open_clip:ViT-B-32", "--pretrained", "none", "--dataset", str(inputs["bench"]),
            "--output", str(out), *extra]


def _train_argv(inputs: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["--model", "open_clip:ViT-B-32", "--pretrained", "none", "--data", str(inputs["train"]),
            "--out", str(out), "--no-eval", "--batch-size", "8", *extra]


def _checked_build(inputs: dict[str, Path], out: Path, device: str, precision: str) -> tuple[str, str]:
    from ccneg_build import cli
    from ccneg_core.devices import resolve_device, resolve_precision
    from ccneg_build.options.visual import check_config

    parser = cli.build_parser()
    args = parser.parse_args(_build_argv(inputs, out, "--device", device, "--precision", precision))
    config = cli.config_from_args(args)
    config.validate()
    visual = check_config(config)
    assert "verify_visual_device" not in config.output_settings()["options"]  # speed only, not an output setting
    return resolve_device(visual.device), resolve_precision(visual.precision, resolve_device(visual.device))


def _checked_bench(inputs: dict[str, Path], out: Path, device: str, precision: str) -> tuple[str, str]:
    from ccneg_bench.cli import build_parser, check_arguments, config_from_args
    from ccneg_core.devices import resolve_device, resolve_precision

    args = build_parser().parse_args(_bench_argv(inputs, out, "--device", device, "--precision", precision))
    config = config_from_args(args)
    check_arguments(args, config)
    return resolve_device(config.device), resolve_precision(config.precision, resolve_device(config.device))


def _checked_train(inputs: dict[str, Path], out: Path, device: str, precision: str) -> tuple[str, str]:
    from ccneg_bench.train.checks import check_train_config
    from ccneg_bench.train.cli import _train_parser, config_from_args
    from ccneg_bench.train.distributed import DistInfo
    from ccneg_bench.train.loop import resolve_device, resolve_precision

    cfg = config_from_args(_train_parser().parse_args(_train_argv(inputs, out, "--device", device,
                                                                  "--precision", precision)))
    check_train_config(cfg)
    resolved = resolve_device(cfg.device, DistInfo())
    return str(resolved), resolve_precision(cfg.precision, resolved)


@pytest.mark.skipif(torch.cuda.is_available(), reason="restates what a machine without a GPU runs at")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_command_accepts_the_same_spellings_and_resolves_them_alike(inputs, tmp_path, nothing_built,
                                                                          device, precision):
    resolved = {
        "ccneg-build": _checked_build(inputs, tmp_path / "build", device, precision),
        "ccneg-bench": _checked_bench(inputs, tmp_path / "bench", device, precision),
        "ccneg-train": _checked_train(inputs, tmp_path / "train", device, precision),
    }
    assert set(resolved.values()) == {("cpu", CPU_RUNS_AT[precision])}, resolved
    assert not any((tmp_path / name).exists() for name in ("build", "bench", "train"))


def test_help_says_the_same_thing_everywhere() -> None:
    from ccneg_bench.cli import build_parser as bench_parser
    from ccneg_bench.cli import build_suite_parser
    from ccneg_bench.train.cli import _mine_parser, _train_parser
    from ccneg_build.cli import build_parser as build_build_parser

    def helps(parser) -> dict[str, str]:
        return {a.option_strings[0]: a.help for a in parser._actions
                if a.option_strings and a.option_strings[0] in ("--device", "--precision")}

    seen = [helps(p()) for p in (build_build_parser, bench_parser, build_suite_parser, _train_parser)]
    assert all(h == seen[0] for h in seen) and set(seen[0]) == {"--device", "--precision"}
    assert helps(_mine_parser())["--device"] == seen[0]["--device"]
    assert "(default: auto)" in seen[0]["--device"] and "amp is another name for auto" in seen[0]["--precision"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")


def _run(command: str, argv: list[str]) -> subprocess.CompletedProcess:
    """``COMMAND ARGS`` in a fresh interpreter, as a user types it (default flags, progress bars on)."""
    module = {"ccneg-build": "ccneg_build.cli", "ccneg-bench": "ccneg_bench.cli",
              "ccneg-train": "ccneg_bench.train.cli"}[command]
    return subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, env=_env(),
                          cwd=REPO, timeout=300)


def _message(stderr: str) -> str:
    """The one line's message, without the command's own prefix."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return re.sub(r"^(ccneg-[a-z]+: )?error: ", "", lines[0])


BAD = [
    (("--device", "gpu0"), "--device gpu0: not a device; use auto, cpu, cuda, cuda:N or mps"),
    (("--precision", "fp8"), "--precision fp8: not a precision; use auto, fp32, bf16 or fp16"),
]
NO_GPU = [
    (("--device", "cuda"), "--device cuda: no CUDA GPU is visible on this machine"),
    (("--device", "cpu", "--precision", "fp16"), "--precision fp16: not available on cpu"),
]


def _in_process(command: str, argv: list[str], capsys) -> tuple[int, str]:
    """``main(argv)`` of a command and its stderr."""
    from ccneg_bench.cli import main as bench_main
    from ccneg_bench.train.cli import main as train_main
    from ccneg_build.cli import main as build_main

    main = {"ccneg-build": build_main, "ccneg-bench": bench_main, "ccneg-train": train_main}[command]
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("flags, expected", BAD + ([] if torch.cuda.is_available() else NO_GPU))
def test_the_same_bad_value_is_the_same_one_line_error(inputs, tmp_path, capsys, nothing_built, flags, expected):
    runs = {
        "ccneg-build": _in_process("ccneg-build", _build_argv(inputs, tmp_path / "build", *flags), capsys),
        "ccneg-bench": _in_process("ccneg-bench", _bench_argv(inputs, tmp_path / "bench", *flags), capsys),
        "ccneg-train": _in_process("ccneg-train", _train_argv(inputs, tmp_path / "train", *flags), capsys),
    }
    if len(flags) == 2 and flags[0] == "--device":
        runs["ccneg-train mine-distractors"] = _in_process("ccneg-train", _mine_argv(inputs, tmp_path, *flags), capsys)
    assert {name: code for name, (code, _) in runs.items()} == {name: 2 for name in runs}
    messages = {name: _message(err) for name, (_, err) in runs.items()}
    assert len(set(messages.values())) == 1, messages
    assert next(iter(messages.values())).startswith(expected)
    assert not any((tmp_path / name).exists() for name in ("build", "bench", "train", "mined"))


def _mine_argv(inputs: dict[str, Path], tmp_path: Path, *extra: str) -> list[str]:
    return ["mine-distractors", "--data", str(inputs["train"]), "--pool", str(inputs["train"]), "--pretrained", "none",
            "--out", str(tmp_path / "mined"), *extra]


def test_each_command_as_typed_refuses_a_bad_device_in_one_line(inputs, tmp_path):
    """The same refusal from each installed command in a fresh interpreter, exactly as typed."""
    flags = ("--device", "gpu0")
    runs = {
        "ccneg-build": _run("ccneg-build", _build_argv(inputs, tmp_path / "build", *flags)),
        "ccneg-bench": _run("ccneg-bench", _bench_argv(inputs, tmp_path / "bench", *flags)),
        "ccneg-train": _run("ccneg-train", _train_argv(inputs, tmp_path / "train", *flags)),
        "ccneg-train mine-distractors": _run("ccneg-train", _mine_argv(inputs, tmp_path, *flags)),
    }
    assert {name: run.returncode for name, run in runs.items()} == {name: 2 for name in runs}
    assert {_message(run.stderr) for run in runs.values()} == {BAD[0][1]}
    assert not any((tmp_path / name).exists() for name in ("build", "bench", "train", "mined"))


def test_build_refuses_a_device_without_the_visual_check(tmp_path, inputs):
    from ccneg_build import cli

    assert cli.main([str(inputs["captions"]), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 2
    assert not (tmp_path / "out").exists()


def test_the_resolution_rule() -> None:
    from ccneg_core.devices import check_device, precision_name, resolve_device, resolve_precision

    gpu = torch.cuda.is_available()
    assert resolve_device("auto") == (f"cuda:{torch.cuda.current_device()}" if gpu else "cpu")
    assert resolve_device(None) == resolve_device("auto") and resolve_device("cpu") == "cpu"
    assert resolve_device("cuda:3") == "cuda:3"  # an explicit index is kept as given
    assert [precision_name(p) for p in ("amp", None, "auto", "fp16")] == ["auto", "auto", "auto", "fp16"]
    assert [resolve_precision(p, "cpu") for p in ("auto", "fp32", "bf16")] == ["fp32", "fp32", "bf16"]
    assert resolve_precision("auto", "mps") == "fp32"
    assert check_device(None) == "auto"
