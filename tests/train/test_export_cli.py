"""The command line end to end: train with periodic evaluation, logs, export; the export loads
in plain open_clip and in ccneg-bench with identical features; clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from ccneg_bench.train.checkpoint import list_checkpoints, load_checkpoint
from ccneg_bench.train.cli import main
from ccneg_bench.train.logs import read_log
from tests.train.conftest import REPO, child_env, run_cli, train_command
from tests.helpers.servers import WatchedThread, unwatch, watch


@pytest.fixture(scope="module")
def trained(tiny_model, train_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = [a for a in train_command(tiny_model, train_data, out, "--batch-size", "16", "--max-steps", "4",
                                     "--save-every", "2", "--eval-every", "2", "--tensorboard")
            if a not in ("--no-eval", "--no-export")]
    proc = run_cli(args)
    return out, proc


def test_run_logs_evaluates_checkpoints_and_exports(trained):
    out, proc = trained
    records = read_log(out / "log.jsonl")
    steps = [r for r in records if "loss" in r]
    evals = [r for r in records if "eval" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert all(r["logit_scale"] <= 100.0 + 1e-4 for r in steps)
    assert [r["step"] for r in evals] == [2, 4]
    assert 0.0 <= evals[-1]["eval"]["ccneg"]["accuracy"] <= 1.0
    assert "accuracy_distractor_image" in evals[-1]["eval"]["ccneg-balanced"]
    assert "image_to_text_R@1" in evals[-1]["eval"]["retrieval"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    run = json.loads((out / "run.json").read_text())
    assert run["summary"]["steps"] == 4 and run["feature_cache"] is True
    assert "eval ccneg: accuracy=" in proc.stdout
    assert (out / "export" / "open_clip_model.safetensors").is_file()
    assert json.loads((out / "export" / "open_clip_config.json").read_text())["model_cfg"]["quick_gelu"] is True


def test_export_loads_in_plain_open_clip_and_in_ccneg_bench(trained, tiny_model):
    import open_clip

    from ccneg_bench.models.registry import load_model

    out, _ = trained
    final = load_checkpoint(list_checkpoints(out)[-1][1])["model"]
    plain, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{out / 'export'}")
    for name, tensor in plain.state_dict().items():
        torch.testing.assert_close(tensor, final[name], msg=name)
    tokenizer = open_clip.get_tokenizer(f"local-dir:{out / 'export'}")
    bench = load_model(f"open_clip:{out / 'export'}", pretrained=None, device="cpu")
    texts = ["a red shape on a table", "a red shape without a table"]
    with torch.no_grad():
        ours = bench.encode_texts(texts)
        theirs = plain.eval().encode_text(tokenizer(texts))
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    # the trained text tower differs from the starting weights; the locked image tower does not
    from safetensors.torch import load_file

    start = load_file(str(tiny_model[1]))
    assert not torch.equal(start["token_embedding.weight"], final["token_embedding.weight"])
    assert all(torch.equal(start[k], final[k]) for k in start if k.startswith("visual."))


def test_export_subcommand_from_latest_checkpoint(trained, tmp_path):
    out, _ = trained
    assert main(["export", "--checkpoint", "latest", "--run", str(out), "--out", str(tmp_path / "exp")]) == 0
    from safetensors.torch import load_file

    a = load_file(str(out / "export" / "open_clip_model.safetensors"))
    b = load_file(str(tmp_path / "exp" / "open_clip_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((tmp_path / "exp" / "open_clip_config.json").read_text()) == \
        json.loads((out / "export" / "open_clip_config.json").read_text())


def test_ccneg_bench_cli_scores_the_export(trained, train_data, tmp_path):
    out, _ = trained
    proc = subprocess.run(
        [sys.executable, "-m", "ccneg_bench.cli", "--model", f"open_clip:{out / 'export'}", "--dataset", str(train_data),
         "--split", "eval", "--task", "ccneg", "--output", str(tmp_path / "res"), "--device", "cpu", "--workers", "0",
         "--bootstrap", "10", "--no-progress"],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initialized randomly" not in proc.stderr and "random weights" not in proc.stderr  # they are loaded
    results = [json.loads(p.read_text()) for p in (tmp_path / "res").glob("*.json")]
    assert results and results[0]["status"] == "ok" and results[0]["n"] == 16
    assert results[0]["model_info"]["description"]["weights"]["sha256"]


def test_help_and_clear_errors(tiny_model, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--resume" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["mine-distractors", "--help"])
    assert "--pool" in capsys.readouterr().out

    from tests.helpers.data import make_rows, write_rows

    bare = tmp_path / "bare"
    write_rows(bare, make_rows(8, split="train"), "train")
    code = main(train_command(tiny_model, bare, tmp_path / "o", "--batch-size", "4", "--max-steps", "1"))
    assert code == 2
    assert "mine-distractors" in capsys.readouterr().err
    code = main(train_command(tiny_model, bare, tmp_path / "o2", "--batch-size", "64", "--loss", "clip"))
    assert code == 2
    assert "larger than the 8 usable training rows" in capsys.readouterr().err
    code = main(train_command(tiny_model, bare, tmp_path / "o3", "--batch-size", "6", "--accum-steps", "4", "--loss", "clip"))
    assert code == 2
    assert "multiple of" in capsys.readouterr().err


class _FakeHub:
    """Just enough of the Hub's HTTP API on 127.0.0.1 to create a repo and commit files."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hub = self
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, payload):
                data = json.dumps(payload).encode()
                self.send_response(200 if payload is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hub.requests.append(("POST", self.path, dict(self.headers), body))
                if self.path.startswith("/api/repos/create"):
                    return self._reply({"url": f"{hub.url}/org/conclip-tiny"})
                if "/preupload/" in self.path:
                    files = json.loads(body)["files"]
                    return self._reply({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                                  for f in files]})
                if "/commit/" in self.path:
                    return self._reply({"commitUrl": f"{hub.url}/org/conclip-tiny/commit/{'a' * 40}",
                                        "commitOid": "a" * 40, "commitMessage": "upload", "pullRequestUrl": None})
                return self._reply(None)

            def do_GET(self):
                hub.requests.append(("GET", self.path, dict(self.headers), b""))
                self._reply(None)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self._watched = WatchedThread("the local Hub stand-in", thread)
        watch(self._watched)

    def close(self) -> None:
        unwatch(self._watched)
        self.server.shutdown()
        self.server.server_close()


def test_push_to_hub_uploads_the_export_and_keeps_the_token_out(trained, tmp_path):
    out, _ = trained
    hub = _FakeHub()
    try:
        env = child_env()
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):  # huggingface_hub honours both
            env.pop(name, None)
        env.update({"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_test_secret_token"})
        proc = subprocess.run(
            [sys.executable, "-m", "ccneg_bench.train.cli", "export", "--checkpoint", "latest", "--run", str(out),
             "--out", str(tmp_path / "exp"), "--push-to-hub", "org/conclip-tiny"],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
        )
    finally:
        hub.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"hub: {hub.url}/org/conclip-tiny" in proc.stdout
    commits = [body for method, path, _, body in hub.requests if "/commit/" in path]
    assert len(commits) == 1
    uploaded = {json.loads(line)["value"]["path"] for line in commits[0].decode().splitlines()
                if json.loads(line)["key"] == "file"}
    assert {"open_clip_model.safetensors", "open_clip_config.json"} <= uploaded
    assert all(h.get("authorization") == "Bearer hf_test_secret_token" or h.get("Authorization") == "Bearer hf_test_secret_token"
               for method, _, h, _ in hub.requests if method == "POST")
    assert "hf_test_secret_token" not in proc.stdout + proc.stderr
    for path in (tmp_path / "exp").iterdir():
        assert b"hf_test_secret_token" not in path.read_bytes()


def test_wandb_logging_offline(tiny_model, train_data, tmp_path):
    pytest.importorskip("wandb")
    out = tmp_path / "run"
    env = child_env()
    env.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    proc = subprocess.run(
        [sys.executable, "-m", "ccneg_bench.train.cli",
         *train_command(tiny_model, train_data, out, "--batch-size", "8", "--max-steps", "2", "--wandb")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = list((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
