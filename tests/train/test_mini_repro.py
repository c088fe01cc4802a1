"""The miniature reproduction (fast variant): CoN-CLIP learns negation, plain fine-tuning does not.

Runs ``benchmarks/mini_repro.py --fast`` as a user would: shapes world -> pretraining with the
plain loss -> distractor mining -> two fine-tunings -> ccneg-bench on the held-out split.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.train.conftest import REPO, child_env


@pytest.mark.slow
def test_conclip_beats_plain_fine_tuning_on_negation(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "mini_repro.py"), "--fast", "--threads", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, env=child_env(), cwd=REPO, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| CoN-CLIP fine-tuned |" in proc.stdout
    table = json.loads((tmp_path / "results.json").read_text())["table"]
    plain, conclip = table["CLIP fine-tuned (plain loss)"], table["CoN-CLIP fine-tuned"]
    assert conclip["ccneg"] >= plain["ccneg"] + 0.08, table
    assert conclip["ccneg-balanced"] >= plain["ccneg-balanced"] + 0.08, table
    assert conclip["ccneg"] >= 0.85, table
    # plain image->text retrieval (gallery: every true and negated caption) must not get worse
    assert conclip["retrieval i2t R@1"] >= plain["retrieval i2t R@1"] - 0.03, table
