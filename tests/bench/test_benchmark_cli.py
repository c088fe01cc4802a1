"""The public benchmarks from the command line: as a user types it, the suite, the report."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from ccneg_bench.cli import main
from tests.helpers import benchmarks as fixtures

ROOT = Path(__file__).resolve().parents[2]


def _command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    script = "import sys; from ccneg_bench.cli import main; sys.exit(main())"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=environment,
                          cwd=str(ROOT), timeout=600)


def test_negbench_as_a_user_types_it(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    written = fixtures.write_negbench_mcq(tmp_path / "nb")
    done = _command("--model", spec, "--pretrained", weights, "--dataset", f"negbench:{written.path}",
                    "--image-root", str(written.image_root), "--output", str(tmp_path / "results"))
    assert done.returncode == 0, done.stderr
    assert "negbench/COCO_val_mcq_llama3.1_rephrased" in done.stdout and "total_accuracy" in done.stdout
    assert "3 samples not scored: bad_index x1, missing_image x1, unknown_template x1" in done.stderr
    [name] = [p.name for p in (tmp_path / "results").glob("*.json")]
    assert name.startswith("negbench_COCO_val_mcq_llama3.1_rephrased_tiny-clip-seed0.safetensors_open_clip_")
    assert name.endswith("_en_mcq.json")


def test_bad_benchmark_arguments_are_one_line_errors(tiny_spec, tmp_path, capsys):
    spec, weights = tiny_spec
    written = fixtures.write_negbench_binary(tmp_path / "bin")
    cases = [
        (["--dataset", f"negbench:{tmp_path / 'nope.csv'}"], "no such file"),
        (["--dataset", f"negbench:{written.path}", "--tie-rule", "sometimes"], "choose one of official, wrong, half"),
        (["--dataset", f"negbench:{written.path}", "--image-root", str(tmp_path / "nowhere")], "--image-root"),
        (["--dataset", f"imagefolder:{tmp_path}", "--templates", str(tmp_path / "t.json")], "--templates"),
    ]
    for extra, message in cases:
        assert main(["--model", spec, "--pretrained", weights, "--output", str(tmp_path / "o"), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def _suite(tmp_path: Path) -> Path:
    negbench = fixtures.write_negbench_mcq(tmp_path / "nb", n=12)
    fixtures.write_sugarcrepe(tmp_path / "sc", n=6)
    fixtures.write_crepe(tmp_path / "cr", n=6)
    fixtures.write_cifar10(tmp_path / "cifar", n=10)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"- dataset: negbench:{negbench.path.relative_to(tmp_path)}\n"
        f"  image_root: nb/coco\n"
        f"- dataset: sugarcrepe:sc\n"
        f"- dataset: crepe:cr/prod_vg_hard_negs_negate_complexity_4.csv\n"
        f"  image_root: cr/vg\n"
        f"- dataset: cifar10:cifar\n"
        f"  task: [zeroshot, zeroshot-negated]\n", encoding="utf-8")
    return suite


def test_suite_warm_rerun_never_builds_the_model(tiny_spec, tmp_path):
    spec, weights = tiny_spec
    suite = _suite(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}  # where the default cache goes, as for any user
    args = ["suite", "--model", spec, "--pretrained", weights, "--suite", str(suite), "--output", str(tmp_path / "out")]
    cold = _command(*args, env=env)
    assert cold.returncode == 0, cold.stderr
    assert f"{spec}: built" in cold.stdout
    first = {p.name: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")}
    assert len(first) == 6  # mcq, 2 SugarCREPE subsets, crepe, zeroshot, zeroshot-negated
    assert (tmp_path / "xdg" / "ccneg-bench" / "models").is_dir()
    warm = _command(*args, env=env)
    assert warm.returncode == 0, warm.stderr
    assert f"{spec}: not built: every feature came from the cache" in warm.stdout
    second = {p.name: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")}
    assert {k: v["metrics"] for k, v in second.items()} == {k: v["metrics"] for k, v in first.items()}
    assert {k: v["model_info"]["fingerprint"] for k, v in second.items()} == \
        {k: v["model_info"]["fingerprint"] for k, v in first.items()}

    # the report merges every benchmark into one leaderboard row per model
    assert main(["report", str(tmp_path / "out"), "--output", str(tmp_path / "report")]) == 0
    board = (tmp_path / "report" / "leaderboard.md").read_text()
    header = next(line for line in board.splitlines() if line.startswith("| model |"))
    for column in ("negbench/COCO_val_mcq_llama3.1_rephrased mcq total_accuracy", "sugar_crepe/add_att pair acc",
                   "sugar_crepe/swap_obj pair acc", "crepe/prod_vg_hard_negs_negate_complexity_4 crepe image_to_text_R@1",
                   "cifar10 zeroshot acc1", "cifar10 zeroshot-negated acc1 (lower is better)"):
        assert column in header
    rows = list(csv.DictReader(open(tmp_path / "report" / "results.csv", encoding="utf-8")))
    assert len(rows) == 6 and {r["task"] for r in rows} == {"mcq", "pair", "crepe", "zeroshot", "zeroshot-negated"}


def test_suite_file_errors_name_the_entry(tiny_spec, tmp_path, capsys):
    spec, weights = tiny_spec
    suite = tmp_path / "suite.yaml"
    suite.write_text("- dataset: sugarcrepe:sc\n  tasks: pair\n")
    assert main(["suite", "--model", spec, "--suite", str(suite), "--output", str(tmp_path / "o"),
                 "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "entry 1: unknown key(s) tasks" in err and len(err.strip().splitlines()) == 1
    suite.write_text("- dataset: sugarcrepe:sc\n  task: pairs\n")
    assert main(["suite", "--model", spec, "--suite", str(suite), "--output", str(tmp_path / "o"),
                 "--cache-dir", str(tmp_path / "c")]) == 2
    assert "entry 1: unknown task 'pairs'" in capsys.readouterr().err
