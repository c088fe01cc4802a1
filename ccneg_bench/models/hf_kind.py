"""The ``hf:`` kind: a transformers CLIP or SigLIP from the Hub (``hf:ORG/NAME``) or a local
``save_pretrained`` folder (``hf:/path``); ``--pretrained REV`` picks a Hub revision.

Only the loaded model knows which Hub snapshot it is (its commit), so the feature-cache key comes
from the built model, and nothing a build reported is reused by a later run (the Hub may have
moved). The adapter is in :mod:`ccneg_bench.models.hf`.
"""

from __future__ import annotations

import os
from typing import Any

from ccneg_bench.models.kind import ModelKind
from ccneg_bench.models.weights import check_hub_files, is_none
from ccneg_bench.options import UsageError


def check(name: str, revision: str | None) -> None:
    """A local folder, or a Hub id whose config is cached or can be downloaded."""
    if os.path.isdir(name):
        return
    if name.startswith(("/", ".", "~")) or os.path.exists(name):
        raise UsageError(f"--model hf:{name}: not a save_pretrained folder (and not a Hub id ORG/NAME)")
    check_hub_files(f"hf:{name}", name, ("config.json",), None if is_none(revision) else revision)


def remote(name: str, revision: str | None) -> bool:
    return True


def load(name: str, pretrained: str | None = None, device: str = "cpu", **_: Any) -> Any:
    from ccneg_bench.models.hf import load_hf  # lazy: torch, transformers

    return load_hf(name, pretrained=pretrained, device=device)


KIND = ModelKind(
    load=load,
    usage="hf:ORG/NAME",
    help="transformers CLIP / SigLIP (also hf:/local/save_pretrained/folder);\n"
         "--pretrained REV picks a Hub revision",
    check=check,
    remote=remote,
)
