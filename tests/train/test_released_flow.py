"""The path a user with the released CC-Neg files takes: import, mine, train, score the export."""

from __future__ import annotations

import json

from ccneg_bench.train.cli import main
from tests.helpers.data import write_released_folder
from tests.scale.released_fixture import user_command


def test_released_files_to_a_conclip_export(tiny_model, tmp_path, capsys):
    released = write_released_folder(tmp_path / "released", n=30)
    dataset = tmp_path / "ccneg"
    # as a user types it (progress bar on); a file under 40,000 rows is all eval unless told otherwise
    proc = user_command("ccneg-build", "import-official", str(released), "--out", str(dataset), "--eval-size", "5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "import-official: 100%" in proc.stderr
    config, weights = tiny_model
    model = ["--model", f"open_clip:{config}", "--pretrained", str(weights), "--device", "cpu", "--workers", "0"]
    assert main(["mine-distractors", "--data", str(dataset), "--pool", str(dataset), *model]) == 0
    capsys.readouterr()
    assert main(["--data", str(dataset), "--out", str(tmp_path / "run"), "--batch-size", "8", "--max-steps", "2",
                 "--eval-tasks", "ccneg,ccneg-balanced", *model]) == 0
    printed = capsys.readouterr().out
    assert "eval ccneg: accuracy=" in printed and "eval ccneg-balanced: accuracy=" in printed
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["rows"] == 25 and run["summary"]["steps"] == 2  # the last 5 rows are eval, 25 train
    assert (tmp_path / "run" / "export" / "open_clip_model.safetensors").is_file()
