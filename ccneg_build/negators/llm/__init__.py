"""LLM backends: the paper's two-stage prompting on Gemini, OpenAI and compatible servers.

Layout (one job per module): ``prompts`` (versioned templates, caption fencing),
``backend`` (the interface), ``openai_backend`` / ``gemini_backend`` (one file per
provider), ``engine`` (concurrency, pacing, retries), ``cache`` (SQLite request cache),
``parse`` (schema validation), ``accounting`` (tokens and cost), ``negator`` (the two
stages), ``options`` (the command-line flags), ``factory`` (config -> negator).
"""

from ccneg_build.negators.llm.factory import BACKENDS, create_llm_negator
from ccneg_build.negators.llm.options import LLM_BACKENDS, LLMOptions, add_llm_arguments, options_from_args

__all__ = [
    "BACKENDS",
    "LLM_BACKENDS",
    "LLMOptions",
    "add_llm_arguments",
    "create_llm_negator",
    "options_from_args",
]
