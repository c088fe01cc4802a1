"""The settings of one ``ccneg-build`` run, as one object every step receives.

The command line fills a :class:`BuildConfig`; the runner, the negator registry, the
writer and any engine (local processes, Ray) read it. Settings that change the output are
listed by :meth:`BuildConfig.output_settings`: they are stored in the output folder and a
rerun with different ones is refused (unless ``--overwrite``), so a folder never mixes
rows made under two configurations.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Ratio of the paper's split (40,000 eval of 228,246): the default eval fraction.
PAPER_EVAL_FRACTION = 0.175

IMAGE_MODES = ("none", "download", "column")


class ConfigError(ValueError):
    """A setting that cannot work; the message says which flag and what to do."""


@dataclass(frozen=True)
class EvalSize:
    """Either an exact number of eval rows or a fraction of accepted rows."""

    count: int | None = None
    fraction: float | None = None

    @classmethod
    def parse(cls, text: str | int | float) -> "EvalSize":
        """``"2000"`` -> exactly 2,000 rows; ``"0.1"`` -> 10 % of rows; ``"0"`` -> none."""
        raw = str(text).strip()
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"--eval-size {raw!r}: give a whole number of rows (e.g. 2000) or a fraction (e.g. 0.1)"
            ) from None
        if value < 0:
            raise ConfigError(f"--eval-size {raw!r}: must not be negative")
        is_integer_text = raw.isdigit()
        if is_integer_text or value >= 1:
            if value != int(value):
                raise ConfigError(f"--eval-size {raw!r}: a row count must be a whole number")
            return cls(count=int(value))
        return cls(fraction=value)

    def describe(self) -> str:
        return f"{self.count} rows" if self.count is not None else f"{self.fraction:g} of rows"


@dataclass
class BuildConfig:
    """Everything a build needs; backends read their own options from ``options``."""

    out: Path
    input: str | None = None  # path, "hf:ORG/NAME[:SPLIT]", or None for the embedded sample
    input_format: str = "auto"
    caption_column: str | None = None
    url_column: str | None = None
    image_column: str | None = None
    labels_column: str | None = None
    limit: int | None = None
    backend: str = "rule"
    seed: int = 0
    workers: int = 1
    shard_size: int = 1000
    rows_per_file: int = 50_000
    eval_size: EvalSize = field(default_factory=lambda: EvalSize(fraction=PAPER_EVAL_FRACTION))
    images: str = "none"
    overwrite: bool = False
    progress: bool = True
    engine: str = "local"
    #: backend-specific settings added by backend flags (model, base_url, concurrency, ...)
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Refuse impossible combinations early, before anything is read or written."""
        if self.limit is not None and self.limit < 0:
            raise ConfigError("--limit must be zero or more")
        if self.workers < 1:
            raise ConfigError("--workers must be at least 1")
        if self.shard_size < 1:
            raise ConfigError("--shard-size must be at least 1")
        if self.rows_per_file < 1:
            raise ConfigError("--rows-per-file must be at least 1")
        if self.images not in IMAGE_MODES:
            raise ConfigError(f"--images must be one of {', '.join(IMAGE_MODES)}")
        if self.images == "column" and not self.image_column:
            raise ConfigError("--images column needs --image-column NAME")

    def output_settings(self) -> dict[str, Any]:
        """The settings that determine the output rows (not workers, progress, overwrite)."""
        settings = {
            "input": self.input,
            "input_format": self.input_format,
            "caption_column": self.caption_column,
            "url_column": self.url_column,
            "image_column": self.image_column,
            "labels_column": self.labels_column,
            "limit": self.limit,
            "backend": self.backend,
            "seed": self.seed,
            "shard_size": self.shard_size,
            "rows_per_file": self.rows_per_file,
            "eval_size": asdict(self.eval_size),
            "images": self.images,
            "options": {k: v for k, v in sorted(self.options.items()) if k not in RUNTIME_OPTIONS},
        }
        return settings


#: Backend options that change speed, not output: excluded from the resume check.
RUNTIME_OPTIONS = frozenset({"concurrency", "rpm", "tpm", "timeout", "max_attempts",
                             "backoff_base", "price_in", "price_out",
                             "image_concurrency", "image_per_host", "image_timeout",
                             "image_retries", "verify_visual_batch_size"})


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
