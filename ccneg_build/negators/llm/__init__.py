"""LLM backends: the paper's two-stage prompting on Gemini, OpenAI and compatible servers.

Layout (one job per module): ``prompts`` (versioned templates, caption fencing),
``backend`` (the interface), ``openai_backend`` / ``gemini_backend`` (one file per
provider), ``engine`` (concurrency, pacing, retries), ``cache`` (SQLite request cache),
``parse`` (schema validation), ``accounting`` (tokens and cost), ``negator`` (the two
stages), ``factory`` (client -> negator); the command-line flags are
:mod:`ccneg_build.options.llm`.

A provider is registered in :data:`ccneg_build.negators.registry.BACKENDS` by its client
class; nothing in this package lists providers.
"""
