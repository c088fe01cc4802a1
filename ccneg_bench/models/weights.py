"""Where a model's weights come from, by content, and whether a download could fetch them.

What every model kind shares (each kind's own checks live in its module, see
:mod:`ccneg_bench.models.kind`): the content keys of weights (the SHA-256 of a file, of a
module's tensors, the seed of a random initialisation, and the short hash of an identity that
keys the feature cache), what ``--pretrained none`` means, and the check that weights which
must be downloaded can be, on a machine that cannot download (``HF_HUB_OFFLINE`` set, or the
Hub not answering within a few seconds): one clear line instead of a long wait and a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from typing import Any
from urllib.parse import urlparse

#: Random weights are drawn from this seed, so "random ViT-B-32" is one model, not many.
RANDOM_INIT_SEED = 2403_20312  # any fixed value; this one is the paper's arXiv number
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
PROBE_TIMEOUT_S = 3.0


class WeightsUnavailable(OSError):
    """Weights that must be downloaded cannot be (offline): exit status 1, not a usage error."""


def is_none(pretrained: str | None) -> bool:
    """True when ``pretrained`` asks for no weights (random initialisation)."""
    return pretrained is None or str(pretrained).strip().lower() in ("", "none")


def looks_like_path(text: str) -> bool:
    """A ``--pretrained`` value meant as a file rather than a tag."""
    return os.sep in text or "/" in text or text.lower().endswith(WEIGHT_SUFFIXES) or os.path.exists(text)


# --------------------------------------------------------------------------- content keys

_DIGESTS: dict[tuple[str, int, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes (remembered per process while size, mtime and inode stay)."""
    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns, stat.st_ino)
    with _DIGEST_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _DIGEST_LOCK:
        _DIGESTS[key] = value
    return value


def file_identity(path: str) -> dict[str, str]:
    """Where a weights file is and what it holds (its SHA-256): provenance for result files."""
    return {"path": os.path.abspath(path), "sha256": file_sha256(path)}


def state_dict_sha256(module: Any) -> str:
    """SHA-256 of a module's tensors (names, dtypes, shapes, bytes): the weights as they are now."""
    import torch  # lazy: torch (the argument checks read this module)

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def random_init_identity() -> dict[str, Any]:
    """What a seeded random initialisation depends on (torch's generator and init code)."""
    import torch  # lazy: torch (the argument checks read this module)

    return {"random_init_seed": RANDOM_INIT_SEED, "torch": torch.__version__}


def fingerprint_of(identity: dict[str, Any]) -> str:
    """The short hash used as the feature-cache key."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- can a download happen


def in_hub_cache(repo: str, filename: str, revision: str | None = None) -> bool:
    """True when the Hub file is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache  # lazy: huggingface_hub (a second to import)
    except ImportError:  # pragma: no cover - huggingface_hub ships with open_clip
        return False
    found = try_to_load_from_cache(repo, filename, revision=revision)
    return isinstance(found, str) and os.path.isfile(found)


def check_hub_files(spec: str, repo: str, names: tuple[str, ...], revision: str | None = None) -> None:
    """Pass when every named file of a Hub repository is cached, or a download could fetch them."""
    if all(in_hub_cache(repo, name, revision) for name in names):
        return
    check_download_possible(spec, None)


def _offline_flag() -> str | None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return None


def _probe_target(url: str | None) -> tuple[str, int]:
    """Host and port a download would connect to first (the proxy when one is set)."""
    target = url or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parsed = urlparse(target)
    proxy = os.environ.get(f"{parsed.scheme}_proxy") or os.environ.get(f"{parsed.scheme.upper()}_PROXY")
    no_proxy = os.environ.get("no_proxy", os.environ.get("NO_PROXY", ""))
    if proxy and parsed.hostname not in [h.strip() for h in no_proxy.split(",") if h.strip()]:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.hostname or "", port


def check_download_possible(what: str, url: str | None) -> None:
    """Fail within seconds, with what to do, when weights would need a download that cannot happen."""
    advice = ("download them once where the Hub is reachable (they are cached under "
              "~/.cache/huggingface), or point at local weights: --pretrained /path/to/weights.safetensors "
              "(or an exported model folder as --model open_clip:FOLDER; --pretrained none for random weights)")
    flag = _offline_flag()
    if flag:
        raise WeightsUnavailable(f"{what}: the weights are not on this machine and {flag} is set; {advice}")
    host, port = _probe_target(url)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise WeightsUnavailable(
            f"{what}: the weights are not on this machine and {host}:{port} cannot be reached ({reason}); {advice}"
        ) from None
