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

from ccneg_build.options.flags import ConfigError, flag_dests
from ccneg_build.splits import PAPER_EVAL_FRACTION, EvalSize
from ccneg_build.options.images import SPEED_OPTIONS as IMAGE_SPEED, image_flags
from ccneg_build.options.images import options_from_config as image_options_from_config
from ccneg_build.options.llm import SPEED_OPTIONS as LLM_SPEED
from ccneg_build.options.visual import SPEED_OPTIONS as VISUAL_SPEED, visual_flags
from ccneg_core.record import STYLES
from ccneg_build.negbench.settings import check_config as check_negbench
from ccneg_build.negbench.settings import style_settings


IMAGE_MODES = ("none", "download", "column")


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
    #: and retrieval data); see ``ccneg_core.record.STYLES``
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

        if self.style not in STYLES:
            raise ConfigError(f"--style {self.style!r} is unknown; choose one of: {', '.join(STYLES)}")

        check_negbench(self)
        if self.images == "column" and not self.image_column:
            raise ConfigError("--images column needs --image-column NAME")
        if self.images == "download":
            try:
                image_options_from_config(self.options)
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

            settings["style"] = self.style
            settings[self.style] = style_settings(self)
        return settings

    def ignored_options(self) -> frozenset[str]:
        """Keys of :attr:`options` that cannot change this run's rows (kept out of the resume check)."""
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

def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object (sorted keys)."""
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
