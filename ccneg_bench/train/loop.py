"""The training loop: one optimiser step at a time, the same code for 1 or N processes.

A step takes the global batch of ``batch_size`` samples (``step_indices``), each rank its
slice, each slice cut into ``accum_steps`` micro-batches. Gradient accumulation is *exact*:
the features of all micro-batches are first computed without gradients, then each
micro-batch is re-encoded with gradients and slotted into the full batch before the loss,
so the contrastive matrices always span the whole global batch and the summed gradient is
the gradient of the full-batch loss (as if the batch had fit in memory).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm import tqdm

from ccneg_bench.train import checkpoint as ckpt
from ccneg_bench.train.cache import build_feature_cache
from ccneg_bench.train.config import MAX_LOGIT_SCALE, TrainConfig, lr_at, resume_conflicts
from ccneg_bench.train.data import ImagePairs, StepSampler, step_indices, write_skipped
from ccneg_bench.train.distributed import (
    DistInfo, all_reduce_mean, average_gradients, barrier, gather_with_grad, init_distributed, shutdown_distributed,
)
from ccneg_bench.train.logs import RunLogger, read_log, truncate_log
from ccneg_bench.train.model import TrainableClip, load_trainable, param_groups
from ccneg_bench.train.objectives.registry import get_loss
from ccneg_bench.train.objectives.spec import DISTRACTORS, MCQ_OPTIONS, NEGATED_CAPTIONS, LossBatch
from ccneg_bench.train.sources import load_rows
from ccneg_bench.train.trainable import cache_needs_locked_tower, trains_image_tower
from ccneg_bench.train.run_folder import check_run_folder, clear_run_folder
from ccneg_core import devices
from ccneg_core.writer import atomic_write_text
from ccneg_bench.train.export import export_config
from ccneg_bench.train.export import WEIGHTS_NAME, export_state

EvalFn = Callable[[TrainableClip, int], dict[str, Any]]


def resolve_device(device: str, info: DistInfo) -> torch.device:
    """The shared rule (:func:`ccneg_core.devices.resolve_device`), except that under torchrun
    ``auto`` and ``cuda`` mean this rank's local GPU; the chosen GPU becomes the current one."""
    if info.enabled and device in ("auto", "cuda") and torch.cuda.is_available():
        device = f"cuda:{info.local_rank}"
    resolved = torch.device(devices.resolve_device(device))
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    return resolved


def resolve_precision(precision: str, device: torch.device) -> str:
    """``fp32``, ``bf16`` or ``fp16`` on ``device`` (:mod:`ccneg_core.devices`: checked, then resolved)."""
    devices.check_precision(precision, str(device))
    return devices.resolve_precision(precision, device)


def make_autocast(device: torch.device, precision: str) -> Callable[[], Any]:
    """A factory of autocast contexts for the chosen precision (fp32: no autocast)."""
    return lambda: devices.autocast(device, precision)


class Trainer:
    """Holds the state of one run; :meth:`run` trains to the end and returns a summary."""

    def __init__(self, cfg: TrainConfig, eval_fn: EvalFn | None = None) -> None:
        self.loss = get_loss(cfg.loss)
        self.loss.check_config(cfg)
        self.needs = self.loss.needs(cfg)
        self.cfg = cfg
        self.eval_fn = eval_fn
        check_run_folder(Path(cfg.out), cfg.resume, cfg.overwrite)  # before anything is written
        _check_optional_packages(cfg)
        self.out = Path(cfg.out)
        self.info = init_distributed(devices.device_type(cfg.device))
        self.device = resolve_device(cfg.device, self.info)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.autocast = make_autocast(self.device, self.precision)
        self.with_distractors = DISTRACTORS in self.needs
        self.image_frozen = not trains_image_tower(cfg.trained_parts())
        self._check_batch()

        self.rows = load_rows(cfg, self.needs)
        torch.manual_seed(cfg.seed)  # identical random initialisation on every rank
        self.clip = load_trainable(cfg.model, cfg.pretrained, cfg.trained_parts())
        self.clip.model.to(self.device)
        self._broadcast_parameters()
        self.steps_per_epoch = len(self.rows) // cfg.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"--batch-size {cfg.batch_size} is larger than the {len(self.rows)} usable training rows; "
                "lower it"
            )
        self.total_steps = cfg.max_steps if cfg.max_steps else cfg.epochs * self.steps_per_epoch
        self.trainable = self.clip.trainable_parameters()
        self.optimizer = torch.optim.AdamW(
            param_groups(self.trainable, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.use_cache = self._decide_cache()
        self.features: dict[str, torch.Tensor] | None = None
        self.loss_parts: dict[str, torch.Tensor] = {}
        self.start_step = 0
        self.bad_images = 0
        self.cache_stats: dict[str, Any] = {}

        self.export_config = export_config(self.clip)

    # ----------------------------------------------------------------- set-up
    def _check_batch(self) -> None:
        unit = self.info.world_size * self.cfg.accum_steps
        if self.cfg.batch_size % unit:
            raise ValueError(
                f"--batch-size {self.cfg.batch_size} must be a multiple of world size x --accum-steps "
                f"({self.info.world_size} x {self.cfg.accum_steps} = {unit})"
            )

    def _broadcast_parameters(self) -> None:
        if not self.info.enabled:
            return
        import torch.distributed as dist

        for tensor in list(self.clip.model.parameters()) + list(self.clip.model.buffers()):
            dist.broadcast(tensor.data, src=0)

    def _decide_cache(self) -> bool:
        mode = self.cfg.cache_features
        if mode not in ("auto", "on", "off"):
            raise ValueError(f"--cache-features {mode}: use auto, on or off")
        if mode == "on" and not self.image_frozen:
            raise ValueError(cache_needs_locked_tower(self.cfg.trained_parts()))
        return mode == "on" or (mode == "auto" and self.image_frozen)

    def _resume(self) -> None:
        path = ckpt.resolve_resume(self.cfg.resume, self.out)
        if path is None:
            if self.cfg.resume and self.info.is_main:
                _say(f"--resume {self.cfg.resume}: no checkpoint under {self.out / ckpt.CHECKPOINT_DIR}; starting a new run")
            return
        state = ckpt.load_checkpoint(path, map_location="cpu")
        changed = resume_conflicts(state.get("config", {}), self.cfg)
        if changed:
            raise ValueError(f"{path}: cannot resume with a different setting ({'; '.join(changed)}); use a new --out")
        self.clip.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        ckpt.restore_rng_state(state["rng"])
        self.start_step = int(state["step"])
        self.bad_images = int(state.get("bad_images", 0))
        if self.info.is_main:
            _say(f"resumed from step {self.start_step} ({path})")

    def _save(self, step: int) -> None:
        if self.info.is_main:
            state = {
                "format": "ccneg-train-checkpoint/1",
                "step": step,
                "model": self.clip.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else {},
                "rng": ckpt.capture_rng_state(),
                "bad_images": self.bad_images,
                "config": self.cfg.as_dict(),
                "export_config": self.export_config,
            }
            ckpt.save_checkpoint(self.out, step, state, keep_last=self.cfg.keep_last)
        barrier(self.info)

    # ------------------------------------------------------------- one step
    def _tokens(self, texts: list[str]) -> torch.Tensor:
        return self.clip.tokenizer(texts).to(self.device)

    def _frozen_features(self, micro: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Image-side features that need no gradient (cached, or from the locked tower)."""
        if not self.image_frozen:
            return {}
        if self.features is not None:
            index = torch.as_tensor(micro["index"], device=self.device)
            out = {"image": self.features["image"][index]}
            if self.with_distractors:
                out["distractor"] = self.features["distractor"][index]
            return out
        with torch.no_grad(), self.autocast():
            out = {"image": self.clip.encode_image(micro["image"].to(self.device))}
            if self.with_distractors:
                out["distractor"] = self.clip.encode_image(micro["distractor"].to(self.device))
        return out

    def _text_features(self, index: list[int]) -> dict[str, torch.Tensor]:
        """Caption features, plus the negated captions' or the options' when the loss reads them.

        A multiple-choice row's caption is its right option, so the options are encoded once and
        the caption's features are picked from them.
        """
        if MCQ_OPTIONS in self.needs:
            options = [self.rows.options[i] for i in index]
            width = len(options[0])
            flat = self.clip.encode_text(self._tokens([text for row in options for text in row]))
            choices = flat.view(len(index), width, -1)
            correct = torch.tensor([self.rows.correct[i] for i in index], device=self.device)
            return {"text": choices[torch.arange(len(index), device=self.device), correct], "options": choices,
                    "correct": correct}
        captions = [self.rows.captions[i] for i in index]
        if NEGATED_CAPTIONS in self.needs:
            negated = [self.rows.negated[i] for i in index]
            both = self.clip.encode_text(self._tokens(captions + negated))
            return {"text": both[: len(captions)], "negated": both[len(captions):]}
        return {"text": self.clip.encode_text(self._tokens(captions))}

    def _trainable_features(self, micro: dict[str, Any], grad: bool) -> dict[str, torch.Tensor]:
        """Features of the trained towers: texts (and images when the image tower trains)."""
        with torch.set_grad_enabled(grad), self.autocast():
            out = self._text_features(micro["index"])
            if not self.image_frozen:
                out["image"] = self.clip.encode_image(micro["image"].to(self.device))
                if self.with_distractors:
                    out["distractor"] = self.clip.encode_image(micro["distractor"].to(self.device))
        return out

    def _loss(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of this rank's rows against the global batch's columns (the spec's ``compute``)."""
        batch = LossBatch(local=feats, logit_scale=self.clip.model.logit_scale.exp(), config=self.cfg,
                          row_offset=self.info.rank * feats["text"].shape[0],
                          gather=lambda tensor: gather_with_grad(tensor, self.info))
        loss = self.loss.compute(batch)
        self.loss_parts = batch.parts  # every micro-batch gives the same full-batch values: keep the last
        return loss

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step_loss_and_backward(self, micros: list[dict[str, Any]]) -> torch.Tensor:
        """Accumulate the exact full-batch gradient over micro-batches; return the loss."""
        frozen = [self._frozen_features(m) for m in micros]
        if len(micros) == 1:
            feats = {**frozen[0], **self._trainable_features(micros[0], grad=True)}
            with self.autocast():
                loss = self._loss(feats)
            self._backward(loss)
            return loss.detach()
        constant = [{**f, **self._trainable_features(m, grad=False)} for f, m in zip(frozen, micros)]
        first_loss = None
        for j, micro in enumerate(micros):
            fresh = self._trainable_features(micro, grad=True)
            feats = {
                k: torch.cat([fresh[k] if (i == j and k in fresh) else constant[i][k] for i in range(len(micros))])
                for k in constant[0]
            }
            with self.autocast():
                loss = self._loss(feats)
            self._backward(loss)
            first_loss = loss.detach() if first_loss is None else first_loss
        assert first_loss is not None
        return first_loss

    def optimizer_step(self, step: int) -> float:
        lr = lr_at(step, self.cfg.lr, self.cfg.warmup_steps, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        params = [p for _, p in self.trainable]
        average_gradients(params, self.info)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(
            params, self.cfg.grad_clip if self.cfg.grad_clip > 0 else math.inf
        )
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            self.clip.model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        return float(grad_norm)

    # ---------------------------------------------------------------- batches
    def micro_batches(self):
        sampler = StepSampler(len(self.rows), self.cfg.batch_size, self.cfg.seed, self.start_step,
                              self.total_steps, self.info.rank, self.info.world_size, self.cfg.accum_steps)
        if self.features is not None:
            for indices in sampler:
                yield {"index": indices, "bad": 0}
            return
        dataset = ImagePairs(self.rows, self.clip.transform, self.with_distractors, self.clip.image_size)
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, num_workers=self.cfg.workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
        )
        for batch in loader:
            batch["index"] = batch["index"].tolist()
            batch["bad"] = int(batch["bad"].sum())
            yield batch

    # -------------------------------------------------------------------- run
    def set_up(self) -> None:
        """Resume state and feature cache: everything before the first step."""
        self._resume()
        if self.use_cache:
            cache_dir = Path(self.cfg.cache_dir) if self.cfg.cache_dir else self.out / "feature_cache"
            self.features, self.cache_stats = build_feature_cache(
                self.clip, self.rows, self.with_distractors, cache_dir, self.info, self.device, self.autocast,
                self.precision, workers=self.cfg.workers,
            )
            if self.start_step == 0:
                self.bad_images += int(self.cache_stats.get("bad_images", 0))
            self.features = {k: v.to(self.device) for k, v in self.features.items()}  # one copy, no per-step transfer
        self.clip.model.train()
        if self.image_frozen:
            self.clip.model.visual.eval()

    def first_step_loss(self) -> float:
        """The loss of the first step's batch without updating anything (for equality checks)."""
        micros = []
        it = self.micro_batches()
        for _ in range(self.cfg.accum_steps):
            micros.append(next(it))
        with torch.no_grad():
            feats_list = [{**self._frozen_features(m), **self._trainable_features(m, grad=False)} for m in micros]
            feats = {k: torch.cat([f[k] for f in feats_list]) for k in feats_list[0]}
            with self.autocast():
                loss = self._loss(feats)
        return float(all_reduce_mean(loss, self.info))

    def run(self) -> dict[str, Any]:
        cfg, info = self.cfg, self.info
        if info.is_main:
            if cfg.overwrite and clear_run_folder(self.out):
                _say(f"--overwrite: removed the previous run's files from {self.out}")
            self.out.mkdir(parents=True, exist_ok=True)
            write_skipped(self.rows, self.out / "skipped.jsonl")
        self.set_up()
        if info.is_main:  # the log reads as one run: nothing after the step training starts from
            truncate_log(self.out / "log.jsonl", self.start_step)
        finished = self.start_step >= self.total_steps
        if finished and info.is_main:
            _say(f"the run in {self.out} already reached step {self.total_steps}: nothing left to train")
        logger = RunLogger(self.out, info.is_main, cfg.tensorboard, cfg.wandb, cfg.wandb_project, cfg.as_dict())
        if info.is_main:
            _write_json(self.out / "run.json", self._describe_run())
        step = self.start_step
        micros: list[dict[str, Any]] = []
        window_start, window_samples = time.perf_counter(), 0
        started = time.perf_counter()
        progress = tqdm(total=self.total_steps, initial=step, desc="training", disable=not info.is_main)
        last_eval: dict[str, Any] = {}
        try:
            for micro in self.micro_batches():
                micros.append(micro)
                if len(micros) < cfg.accum_steps:
                    continue
                loss = self.step_loss_and_backward(micros)
                self.bad_images += sum(m["bad"] for m in micros)
                grad_norm = self.optimizer_step(step)
                micros = []
                step += 1
                window_samples += cfg.batch_size
                progress.update(1)
                if step % cfg.log_every == 0 or step == self.total_steps:
                    elapsed = time.perf_counter() - window_start
                    record = {
                        "step": step, "epoch": (step - 1) // self.steps_per_epoch,
                        "loss": float(all_reduce_mean(loss, info)),
                        **self._logged_parts(),
                        "lr": self.optimizer.param_groups[0]["lr"],
                        "logit_scale": float(self.clip.model.logit_scale.detach().exp()),
                        "grad_norm": grad_norm,
                        "samples_per_s": window_samples / max(elapsed, 1e-9),
                        "bad_images": self.bad_images,
                    }
                    logger.log(record)
                    progress.set_postfix(loss=f"{record['loss']:.4f}")
                    window_start, window_samples = time.perf_counter(), 0
                if cfg.save_every and step % cfg.save_every == 0 and step < self.total_steps:
                    self._save(step)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < self.total_steps:
                    last_eval = self._evaluate(step, logger)
        finally:
            progress.close()
        if not (finished and ckpt.checkpoint_path(self.out, step).is_file()):
            self._save(step)
        export_dir = None
        if cfg.export and info.is_main:
            export_dir = str(self.out / "export")
            if not (finished and (self.out / "export" / WEIGHTS_NAME).is_file()):
                export_state(self.clip.model.state_dict(), self.export_config, self.out / "export", self.cfg.as_dict())
        logged = logged_eval(self.out / "log.jsonl", step) if finished and info.is_main else None
        # every rank takes the same branch (rank 0 holds the log): _evaluate has a barrier
        seen = float(all_reduce_mean(torch.tensor([1.0 if logged is not None else 0.0], device=self.device), info)) > 0
        if seen:  # a finished run resumed: its final evaluation is already in the log
            last_eval = logged or {}
        elif cfg.eval_at_end:
            last_eval = self._evaluate(step, logger)
        logger.close()
        summary = {
            "steps": step, "total_steps": self.total_steps, "rows": len(self.rows),
            "skipped": self.rows.skipped, "bad_images": self.bad_images, "cache": self.cache_stats,
            "seconds": time.perf_counter() - started, "eval": last_eval, "export": export_dir,
        }
        if info.is_main:
            run = self._describe_run()
            run["summary"] = summary
            _write_json(self.out / "run.json", run)
        barrier(info)
        return summary

    def _logged_parts(self) -> dict[str, Any]:
        """``{"loss_parts": {term: mean over processes}}`` when the loss reports its terms."""
        if not self.loss_parts:
            return {}
        return {"loss_parts": {name: float(all_reduce_mean(value, self.info))
                               for name, value in sorted(self.loss_parts.items())}}

    def _evaluate(self, step: int, logger: RunLogger) -> dict[str, Any]:
        if self.eval_fn is None:
            return {}
        metrics: dict[str, Any] = {}
        if self.info.is_main:
            self.clip.model.eval()
            try:
                metrics = self.eval_fn(self.clip, step)
            except (ValueError, FileNotFoundError) as err:  # a missing eval split must not end the run
                metrics = {"error": str(err)}
            self.clip.model.train()
            if self.image_frozen:
                self.clip.model.visual.eval()
            logger.log({"step": step, "eval": metrics})
        barrier(self.info)
        return metrics

    def _describe_run(self) -> dict[str, Any]:
        return {
            "config": self.cfg.as_dict(), "world_size": self.info.world_size, "device": str(self.device),
            "precision": self.precision, "feature_cache": self.use_cache, "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps, "rows": len(self.rows), "skipped": self.rows.skipped,
            "trainable": self.cfg.trained_parts(), "trainable_parameters": sum(p.numel() for _, p in self.trainable),
        }

    def close(self) -> None:
        shutdown_distributed(self.info)


def _check_optional_packages(cfg: TrainConfig) -> None:
    """Fail before any work when a requested logger is not installed."""
    import importlib.util

    if cfg.wandb and importlib.util.find_spec("wandb") is None:
        raise ValueError("--wandb needs the wandb package: pip install 'ccneg[wandb]'")
    if cfg.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise ValueError("--tensorboard needs the tensorboard package: pip install 'ccneg[train]'")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str))


def _say(message: str) -> None:
    print(f"ccneg-train: {message}", file=sys.stderr, flush=True)


def logged_eval(path: Path, step: int) -> dict[str, Any] | None:
    """The evaluation logged at ``step``, if the log holds one."""
    if not path.is_file():
        return None
    found = [r["eval"] for r in read_log(path) if r.get("step") == step and "eval" in r]
    return found[-1] if found else None


def train(cfg: TrainConfig, eval_fn: EvalFn | None = None) -> dict[str, Any]:
    """Train (or resume) a run described by ``cfg``; returns the summary written to run.json."""
    trainer = Trainer(cfg, eval_fn)
    try:
        return trainer.run()
    finally:
        trainer.close()


__all__ = ["Trainer", "train", "step_indices"]
