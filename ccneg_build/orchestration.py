"""The orchestration of a build: the steps every engine shares, around the engine that runs the shards.

:func:`run_build` is what ``ccneg-build`` calls. It opens the input and checks the
settings against it (failing before any write), checks and creates the output folder
(:mod:`ccneg_build.outdir`), takes the folder's lock before anything in it changes, builds
the negator through the registry, prepares the folder (resume, refuse or overwrite), lets
the chosen engine process the shards, refuses to publish while a shard's rows are owed,
then publishes the dataset files, the manifest and the card in one switch
(:mod:`ccneg_build.publication`); a run that accepted no row publishes nothing and fails
(:class:`~ccneg_build.publish.NothingAccepted`). Engines only differ in where
shards run (:data:`ccneg_build.engines.ENGINES`), and all take the same arguments.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ccneg_build.card import render_card
from ccneg_build.config import BuildConfig, fingerprint
from ccneg_build.engines import resolve_engine
from ccneg_build.negbench.run import after_publish, before_shards, describe_content as describe_negbench
from ccneg_build.negbench.visual import NegBenchVisualStep
from ccneg_build.options.flags import ConfigError
from ccneg_build.manifest import build_manifest, prepare_output, run_record
from ccneg_build.outdir import RunLock, discard_if_untouched, open_output_folder
from ccneg_build.negators.compose import build_negator
from ccneg_build.publish import publish
from ccneg_build.runner import strip_images
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_build.sources import open_source
from ccneg_build.sources.base import Source
from ccneg_build.options.visual import VisualOptions, check_config as check_visual
from ccneg_build.visual.step import VisualStep



@dataclass
class BuildReport:
    """What a finished build reports back to the command line."""

    out: Path
    mode: str  # "new", "resume" or "overwrite"
    manifest: dict[str, Any]
    shards_total: int = 0
    shards_resumed: int = 0


def open_input(config: BuildConfig) -> Source:
    """The configured input, checked readable (raises ``InputError``)."""
    return open_source(config.input, config.input_format, config.caption_column, config.url_column,
                       config.image_column, config.labels_column)


def limited_rows(source: Source, config: BuildConfig):
    """The input's rows, cut at ``--limit`` and with images dropped for ``--images none``."""
    import itertools

    rows = source.iter_rows()
    if config.limit is not None:
        rows = itertools.islice(rows, config.limit)
    if config.images == "none":
        rows = strip_images(rows)
    return rows


class RunIncomplete(RuntimeError):
    """Shards are still owed after the engine ran (their rows got no answer): exit code 1."""


def run_build(config: BuildConfig, progress: Callable[[ShardPlan, dict[str, Any], bool], None] | None = None,
              on_start: Callable[[Source, int | None], None] | None = None) -> BuildReport:
    """Build the dataset described by ``config`` into ``config.out``; see the module doc."""
    config.validate()
    visual = check_visual(config)  # a visual check that cannot work fails before any write
    started = time.perf_counter()
    source = open_input(config)
    engine = resolve_engine(config)
    expected_rows = _expected_rows(source, config)
    config = fit_to_input(config, expected_rows)
    created_folder = open_output_folder(config.out, config.overwrite)
    try:
        with RunLock(config.out):  # before anything in the folder changes
            return _locked_build(config, source, engine, expected_rows, started, progress, on_start, visual)
    except BaseException:
        if created_folder:
            discard_if_untouched(config.out)
        raise


def fit_to_input(config: BuildConfig, expected_rows: int | None) -> BuildConfig:
    """Refuse an eval count the input cannot leave train rows for; no more workers than shards."""
    count = config.eval_size.count
    if count and expected_rows is not None and count >= expected_rows:
        raise ConfigError(
            f"--eval-size {count}: the input has {expected_rows} rows, so no row would be left for train; "
            "give a smaller count or a fraction such as 0.1"
        )
    if expected_rows is not None and config.workers > 1:
        shards = max(1, -(-expected_rows // config.shard_size))
        if shards < config.workers:
            config = dataclasses.replace(config, workers=shards)
    return config


def _locked_build(config: BuildConfig, source: Source, engine: Callable[..., list[ShardPlan]],
                  expected_rows: int | None, started: float,
                  progress: Callable[[ShardPlan, dict[str, Any], bool], None] | None,
                  on_start: Callable[[Source, int | None], None] | None,
                  visual: VisualOptions | None = None) -> BuildReport:
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    with ExitStack() as cleanup:
        negator = build_negator(config)  # for its description; every engine builds its own where shards run
        try:
            negator_facts = negator.describe()
        finally:
            negator.close()
        settings = config.output_settings()
        record = run_record(config.resume_settings(), source.describe(), negator_facts)
        mode = prepare_output(config.out, record, config.overwrite, config.ignored_options())
        if on_start is not None:
            on_start(source, expected_rows)
        store = PartStore.for_style(config.out, config.style)
        resumed = 0
        processed_rows = 0  # this run's work: shards finished by an earlier run do not count

        def on_shard(plan: ShardPlan, marker: dict[str, Any], was_done: bool) -> None:
            nonlocal resumed, processed_rows
            resumed += was_done
            if not was_done:
                processed_rows += int(marker.get("rows", plan.end - plan.start))
            if progress is not None:
                progress(plan, marker, was_done)

        style_facts: dict[str, Any] = {}
        if config.style == "negbench":  # corpus statistics, fixed before any shard runs
            statistics = before_shards(config, limited_rows(source, config), fingerprint(record), expected_rows)
            if statistics is not None:
                style_facts["cooccurrence"] = statistics
        shard_started, shard_cpu_started = time.perf_counter(), time.process_time()
        plans = engine(config, limited_rows(source, config), fingerprint(record), store, on_shard)
        shards_seconds = time.perf_counter() - shard_started
        shards_cpu_seconds = time.process_time() - shard_cpu_started
        check_finished(store, plans)
        visual_started = time.perf_counter()
        if visual is not None and config.style == "negbench":
            store = NegBenchVisualStep(visual, config.seed, progress=config.progress).run(config.out, store, plans)
        elif visual is not None:
            store = VisualStep(visual, config.seed, progress=config.progress).run(config.out, store, plans)
        visual_seconds = time.perf_counter() - visual_started
        check_eval_count(config, store, plans)

        publish_started = time.perf_counter()
        describe = describe_negbench if config.style == "negbench" else None
        published = publish(config.out, store, plans, config.eval_size, config.rows_per_file,
                            progress=config.progress, describe=describe)
        cleanup.callback(published.publication.discard)  # a failure before the switch leaves no staged file
        if config.style == "negbench":
            style_facts.update(after_publish(config.out, published))
        publish_seconds = time.perf_counter() - publish_started
        timings = {
            "total_s": time.perf_counter() - started,
            "shards_s": shards_seconds,
            "shards_cpu_s": shards_cpu_seconds,  # this process only: all the work when --workers 1
            "publish_s": publish_seconds,
            **({"visual_s": visual_seconds} if visual is not None else {}),
            "rows_processed": processed_rows,
            "rows_per_s": processed_rows / shards_seconds if shards_seconds > 0 else 0.0,
        }
        manifest = build_manifest(config_settings=settings, source=source.describe(), negator=negator_facts,
                                  published=published, timings=timings, engine=config.engine,
                                  workers=config.workers, created=created)
        manifest["run"] = {"mode": mode, "shards": len(plans), "shards_resumed": resumed}
        if config.style != "ccneg":  # the default style's manifest stays as it was
            manifest["style"] = config.style
            manifest[config.style] = style_facts
        manifest = published.publication.commit(manifest, render_card(manifest))
    return BuildReport(out=Path(config.out), mode=mode, manifest=manifest, shards_total=len(plans),
                       shards_resumed=resumed)


def check_finished(store: PartStore, plans: list[ShardPlan]) -> None:
    """Never publish (or call a run done) while a shard's rows are owed."""
    owed = [p for p in plans if not store.is_done(p)]
    if owed:
        rows = sum(p.end - p.start for p in owed)
        raise RunIncomplete(
            f"{len(owed)} of {len(plans)} shards ({rows} rows) are unfinished: their rows got no answer from the "
            "backend's server (connection, timeout or 429/5xx after every retry); answered requests are kept: "
            "rerun the same command to finish them"
        )


def check_eval_count(config: BuildConfig, store: PartStore, plans: list[ShardPlan]) -> None:
    """An exact eval count must leave train rows; checked before any published file is written."""
    count = config.eval_size.count
    if not count:
        return
    accepted = sum(store.marker(p)["accepted"] for p in plans)
    if count >= accepted and accepted:  # none accepted: publish() says so, naming the reasons
        raise ConfigError(
            f"--eval-size {count}: only {accepted} rows were accepted, so no row would be left for train; "
            "rerun with a smaller count or a fraction (finished shards are kept and reused)"
        )


def _expected_rows(source: Source, config: BuildConfig) -> int | None:
    """Rows the run will read, for the progress bar (None when unknown)."""
    total = source.total_rows
    if total is None:
        return config.limit
    return min(total, config.limit) if config.limit is not None else total
