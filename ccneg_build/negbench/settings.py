"""What decides a negbench build's rows besides the usual settings, and where absent objects come from.

The object lexicon, the version of this style's rules and, for LLM backends, the hash of the
absent-objects prompt are output settings: a rerun with another lexicon or prompt is another
dataset (refused without ``--overwrite``), like a rerun with another seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccneg_build.options.flags import ConfigError
from ccneg_build.options.llm import DEFAULT_PROMPT_VERSION
from ccneg_build.negbench.lexicon import lexicon_digest
from ccneg_build.negators.llm.prompts import load_stage
from ccneg_build.negbench.paraphrase import PARAPHRASE_STAGE

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig

#: Bumped whenever the templates, rules or statistics change what a row holds.
NEGBENCH_VERSION = "1"
#: The prompt stage of LLM absent-object proposals (``prompts/<version>/absent_objects.yaml``).
ABSENT_STAGE = "absent_objects"
#: Where absent objects come from: corpus statistics for the offline backend, the LLM otherwise.
COOCCURRENCE, LLM = "cooccurrence", "llm"


def absent_source(config: "BuildConfig") -> str:
    """``cooccurrence`` for ``--backend rule``, ``llm`` for an LLM backend."""
    return COOCCURRENCE if config.backend == "rule" else LLM


def uses_statistics(config: "BuildConfig") -> bool:
    """Does the run need the co-occurrence pass (the offline source, or ``--fallback rule``)?"""
    return absent_source(config) == COOCCURRENCE or config.options.get("fallback") == "rule"


def prompt_version(config: "BuildConfig") -> str:
    return str(config.options.get("prompt_version") or DEFAULT_PROMPT_VERSION)


def style_settings(config: "BuildConfig") -> dict[str, Any]:
    """The negbench settings stored with the run (and compared on a rerun)."""
    settings: dict[str, Any] = {"version": NEGBENCH_VERSION, "lexicon": lexicon_digest(),
                                "absent_source": absent_source(config)}
    if absent_source(config) == LLM:
        try:
            settings["absent_prompt"] = load_stage(prompt_version(config), ABSENT_STAGE)[1]
        except FileNotFoundError:
            settings["absent_prompt"] = None  # reported as a one-line error when the step is built
        if config.options.get("negbench_paraphrase"):
            try:
                settings["paraphrase_prompt"] = load_stage(prompt_version(config), PARAPHRASE_STAGE)[1]
            except FileNotFoundError:
                settings["paraphrase_prompt"] = None
    return settings


def negbench_flags() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The flags of this style, as (flags, argparse keyword arguments); they land in ``config.options``."""
    return [
        (("--negbench-paraphrase",), dict(action="store_true", dest="negbench_paraphrase", default=None,
                                          help="--style negbench with an LLM backend: have the LLM reword each row's "
                                               "options and retrieval caption; a rewording is kept only if it keeps "
                                               "every object and negation and passes the output checks")),
    ]


def check_config(config: "BuildConfig") -> None:
    """Refuse this style's flags where they cannot work (one-line errors, before anything is written)."""
    if config.options.get("negbench_paraphrase") and (config.style != "negbench" or config.backend == "rule"):
        raise ConfigError("--negbench-paraphrase needs --style negbench and an LLM backend (--backend openai or "
                          "gemini): the offline rules cannot paraphrase")
