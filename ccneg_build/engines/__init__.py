"""Where a build's shards run: the engines, one line each in :data:`ENGINES`.

Every engine is a function ``run_shards(config, rows, run_fingerprint, store, on_shard)`` that
processes the unfinished shards of ``rows`` and returns every shard's plan in input order; it
builds the run's negator and pipeline steps where the shards run, through the registries, and
sends each shard through :class:`~ccneg_build.shards.ShardLedger`, the one skip-what-is-done
loop. They differ only in where a shard runs:

* :mod:`.local`       in this process (``--workers 1``);
* :mod:`.pool`        in ``--workers N`` processes of this machine (``--engine local`` with N > 1);
* :mod:`.ray_engine`  on the actors of a Ray cluster (``--engine ray``).

The orchestration around them (input, lock, resume, publishing) is
:mod:`ccneg_build.orchestration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ccneg_build.options.flags import ConfigError
from ccneg_core.registry import Registry, UnknownName

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.shards import ShardPlan

#: engine name -> "module:run_shards"; ``--engine`` offers them.
ENGINES = Registry("engine", {
    "local": "ccneg_build.engines.local:run_shards",
    "pool": "ccneg_build.engines.pool:run_shards",
    "ray": "ccneg_build.engines.ray_engine:run_shards",
})


def engine_name(config: "BuildConfig") -> str:
    """The engine a run uses: ``--engine``, where ``local`` with ``--workers`` above 1 is the pool."""
    return "pool" if config.engine == "local" and config.workers > 1 else config.engine


def resolve_engine(config: "BuildConfig") -> Callable[..., list["ShardPlan"]]:
    """The ``run_shards`` function of the run's engine; a one-line error for an unknown name."""
    try:
        return ENGINES.load(engine_name(config))
    except UnknownName:
        raise ConfigError(f"--engine {config.engine!r} is unknown; choose one of: {', '.join(ENGINES)}") from None
