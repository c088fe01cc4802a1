"""The settings of one ``ccneg-build`` run, as one object every step receives.

The command line fills a :class:`BuildConfig` in one place (``cli.config_from_args``); the
runner, the negator registry, the writer and any engine (local processes, Ray) read it.
Settings that change the output are listed by :meth:`BuildConfig.output_settings`: they are
stored in the output folder and a rerun with different ones is refused (unless
``--overwrite``), so a folder never mixes rows made under two configurations. Settings that
cannot change a row are left out, so changing them never refuses a resume: speed settings
(each option group lists its own ``SPEED_OPTIONS``), image settings of a run that downloads
no images, and visual-check settings of a run without ``--verify-visual``.
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
        """``"2000"`` -> exactly 2,000 rows; ``"0.1"`` -> 10 % of rows; ``"0"`` -> none.

        A fraction lies strictly between 0 and 1 and a count is a whole number written
        without a decimal point: ``"1.0"`` could mean one row or every row, so it is refused.
        """
        raw = str(text).strip()
        if raw.isascii() and raw.isdigit():
            return cls(count=int(raw))
        usage = f"--eval-size {raw!r}: give a whole number of rows (e.g. 2000), a fraction between 0 and 1 (e.g. 0.1) or 0 for none"
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(usage) from None
        if value == 0:
            return cls(count=0)
        if not 0 < value < 1:  # also NaN, infinities, negatives, 1.0, 2000.0
            if value == 1:
                raise ConfigError(f"--eval-size {raw!r} is ambiguous (one row or every row?); "
                                  "give 1 for one row or a fraction below 1")
            raise ConfigError(usage)
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
    #: output style: ``ccneg`` (negated and exclusion captions) or ``negbench`` (NegBench-style MCQ
    #: and retrieval data); see ``ccneg_build.record.STYLES``
    style: str = "ccneg"
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
        from ccneg_build.record import STYLES

        if self.style not in STYLES:
            raise ConfigError(f"--style {self.style!r} is unknown; choose one of: {', '.join(STYLES)}")
        from ccneg_build.negbench.settings import check_config as check_negbench

        check_negbench(self)
        if self.images == "column" and not self.image_column:
            raise ConfigError("--images column needs --image-column NAME")
        if self.images == "download":
            from ccneg_build.images.options import options_from_config

            try:
                options_from_config(self.options)
            except (TypeError, ValueError) as exc:
                raise ConfigError(str(exc)) from None

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
            "options": {k: v for k, v in sorted(self.options.items()) if k not in self.ignored_options()},
        }
        if self.style != "ccneg":  # the default style adds nothing, so its folders resume as before
            from ccneg_build.negbench.settings import style_settings

            settings["style"] = self.style
            settings[self.style] = style_settings(self)
        return settings

    def ignored_options(self) -> frozenset[str]:
        """Keys of :attr:`options` that cannot change this run's rows (kept out of the resume check)."""
        from ccneg_build.images.options import SPEED_OPTIONS as IMAGE_SPEED, image_flags
        from ccneg_build.negators.llm.options import SPEED_OPTIONS as LLM_SPEED
        from ccneg_build.visual.options import SPEED_OPTIONS as VISUAL_SPEED, visual_flags

        ignored = set(LLM_SPEED) | set(IMAGE_SPEED) | set(VISUAL_SPEED)
        if self.images != "download":  # only the download step fetches, resizes and re-encodes
            ignored |= flag_dests(image_flags())
        if not self.options.get("verify_visual"):
            ignored |= flag_dests(visual_flags())
        return frozenset(ignored)

    def resume_settings(self) -> dict[str, Any]:
        """The output settings a resumed run must share: all but :data:`PUBLISH_SETTINGS`."""
        return {k: v for k, v in self.output_settings().items() if k not in PUBLISH_SETTINGS}


#: Settings that only shape the published files, which every run re-makes from the finished
#: shards: they may change between a run and its resume (the shards are reused).
PUBLISH_SETTINGS = frozenset({"eval_size", "rows_per_file"})

#: (flags, argparse keyword arguments): how option groups (LLM, image, visual) declare their flags.
FlagSpec = tuple[tuple[str, ...], dict[str, Any]]


def flag_dest(flags: tuple[str, ...], kwargs: dict[str, Any]) -> str:
    """The ``options`` key of one flag: its ``dest``, else argparse's rule (``--top-p`` -> ``top_p``)."""
    return kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")


def flag_dests(specs: list[FlagSpec]) -> set[str]:
    return {flag_dest(flags, kwargs) for flags, kwargs in specs}


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
