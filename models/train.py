"""One training run: resolve options, build the Lightning pieces, fit, validate, export ``model.pt``.

``unmask train`` (``models.cli``) parses flags into a ``TrainConfig`` and calls ``run``, which
goes through the steps below in order; nothing is written to the output folder before the
data is known to be good.

1. ``_model_config``: the network for a new run, or the one saved in the folder on --resume.
2. ``PuzzleDataModule.prepare_data``: read or generate the data (bad input stops here).
3. ``_write_run_config``: ``OUT/config.json``.
4. ``_trainer``: checkpoints, EMA, throughput, loggers.
5. fit, then one more validation at the final step, then ``_summary`` and ``model.pt``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, ThroughputMonitor, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from models.checkpoint import save_model
from models.config import (
    PRECISIONS,
    PRESET_TRAIN,
    ModelConfig,
    Runtime,
    TrainConfig,
    family_train_defaults,
)
from models.data import PuzzleDataModule
from models.lightning import EMA, MDMTrainer
from puzzles.atomic import atomic_write_text, check_folder
from puzzles.errors import UnmaskError
from puzzles.options import declared
from puzzles.task import TaskSpec, get_task

# Options that may differ between a run and its --resume (they do not change the math).
RUNTIME_KEYS = ("num_workers", "compile")


def default_config(task: str, size: int, preset: str, seed: int, **given) -> TrainConfig:
    """Fill every training option not in ``given`` (or given as None) with its default: the
    declared one (``TrainConfig``), the preset's (``PRESET_TRAIN``), the family's
    (``family_train_defaults``), then the intervals derived from ``steps``.

    Defaults are sized so that ``unmask train sudoku --size 4 --preset tiny`` finishes in a few
    minutes on a 2-core CPU, and the ``small`` preset suits a GPU run.
    """
    gpu = torch.cuda.is_available()
    values = {d.name: d.default for d in declared(TrainConfig)}
    values.update(PRESET_TRAIN.get(preset, {}))
    values.update(family_train_defaults(task, size, preset == "tiny"))
    values.update(task=task, size=size, preset=preset, seed=seed)
    for k, v in given.items():
        if k not in values:
            raise TypeError(f"unknown training option {k!r}")
        if v is not None:
            values[k] = v
    tiny, s = preset == "tiny", values["steps"]
    derived = {
        "warmup_steps": min(1000, max(1, s // 20)),
        "val_every": max(1, min(s, 200 if tiny else 2000)),
        "ckpt_every": max(1, min(s, 200 if tiny else 1000)),
        "log_every": max(1, min(50, s // 10)),
        "precision": "bf16-mixed" if gpu else "32-true",
        "device_batches": gpu,
    }
    for k, v in derived.items():
        if values[k] is None:
            values[k] = v
    cfg = TrainConfig(**values)
    check_config(cfg)
    return cfg


def check_config(cfg: TrainConfig) -> None:
    """Raise ``UnmaskError`` for option values that cannot work (the flags' own types already
    refuse non-numbers, nan and negative values)."""
    positive = ("steps", "batch_size", "val_every", "ckpt_every", "log_every", "val_size")
    for name in positive:
        if getattr(cfg, name) < 1:
            raise UnmaskError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(cfg, name)}")
    if cfg.train_size < 1 and not cfg.data:
        raise UnmaskError(f"--train-size must be >= 1, got {cfg.train_size}")
    if not cfg.lr > 0:
        raise UnmaskError(f"--lr must be > 0, got {cfg.lr}")
    if cfg.warmup_steps < 0 or cfg.weight_decay < 0:
        raise UnmaskError("--warmup-steps and --weight-decay must be >= 0")
    if not 0 <= cfg.ema < 1:
        raise UnmaskError(f"--ema must be in [0, 1), got {cfg.ema}")
    if not 0 <= cfg.clue_mask_prob <= 1:
        raise UnmaskError(f"--clue-mask-prob must be in [0, 1], got {cfg.clue_mask_prob}")
    if not 0 <= cfg.fresh_grids <= 1:
        raise UnmaskError(f"--fresh-grids must be in [0, 1], got {cfg.fresh_grids}")
    if cfg.num_workers < 0:
        raise UnmaskError(f"--num-workers must be >= 0, got {cfg.num_workers}")
    if cfg.precision not in PRECISIONS:
        raise UnmaskError(f"--precision {cfg.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if cfg.sizes:
        family = get_task(cfg.task)
        base = family.spec(cfg.size)
        for s in cfg.sizes:
            try:
                spec = family.spec(s)
            except ValueError as err:
                raise UnmaskError(f"--sizes: {err}") from None
            vocab = (spec.num_values, spec.mask_id, spec.vocab_size)
            if vocab != (base.num_values, base.mask_id, base.vocab_size):
                raise UnmaskError(
                    f"--sizes {','.join(map(str, cfg.sizes))}: {spec.describe()} has "
                    f"{spec.vocab_size} tokens and {base.describe()} {base.vocab_size}; one model "
                    "needs one vocabulary (mazes of any size share theirs)"
                )
    if cfg.init and not Path(cfg.init).exists():
        raise UnmaskError(f"--init {cfg.init}: model file not found")
    if cfg.val_data and not cfg.data:
        raise UnmaskError("--val-data needs --data (generated runs generate their validation set)")
    try:
        get_task(cfg.task).generator_options(cfg.generator)
    except ValueError as err:
        raise UnmaskError(f"--generator: {err}") from None
    for name in ("data", "val_data"):
        path = getattr(cfg, name)
        for part in (path or "").split(","):
            if part.strip() and not Path(part.strip()).is_file():
                raise UnmaskError(f"--{name.replace('_', '-')} {part.strip()}: file not found")


def check_runtime(runtime: Runtime) -> None:
    """UnmaskError for an accelerator this machine lacks or a strategy Lightning does not know
    (before any work)."""
    acc = runtime.accelerator
    if acc in ("gpu", "cuda") and not torch.cuda.is_available():
        raise UnmaskError(f"--accelerator {acc}: torch sees no CUDA device here (use auto or cpu)")
    if acc == "mps" and not (torch.backends.mps.is_available()):
        raise UnmaskError("--accelerator mps: this machine has no Apple GPU (use auto or cpu)")
    from lightning.pytorch.strategies import StrategyRegistry

    known = ("auto", *StrategyRegistry.available_strategies())
    if runtime.strategy not in known:
        raise UnmaskError(f"--strategy {runtime.strategy!r}: Lightning knows {', '.join(known)}")


def check_memory_for_batch(cfg: TrainConfig, model_cfg: ModelConfig) -> None:
    """UnmaskError when one training batch's activations alone would not fit in the host's
    memory (a CPU run; about 16 floats per cell, width and layer kept for the backward pass)."""
    from puzzles.generate import check_fits

    if torch.cuda.is_available():
        return
    cells = cfg.batch_size * model_cfg.spec.num_cells
    need = 16 * 4 * cells * (model_cfg.d_model + model_cfg.d_ff) * model_cfg.n_layers
    need *= model_cfg.n_loops
    check_fits(need, f"--batch-size {cfg.batch_size}: one batch needs", "use a smaller batch")


def check_checkpoint(path: Path) -> None:
    """UnmaskError unless ``path`` is a Lightning checkpoint that loads (--resume)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for damaged files
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise UnmaskError(
            f"{path}: cannot resume from it: not a readable checkpoint ({reason})"
        ) from None
    if not isinstance(obj, dict) or "state_dict" not in obj or "global_step" not in obj:
        raise UnmaskError(f"{path}: cannot resume from it: not a Lightning checkpoint")


def read_run_config(out: Path) -> tuple[TrainConfig, dict]:
    """The ``TrainConfig`` and model-config dict saved in ``out/config.json``."""
    path = out / "config.json"
    if not path.is_file():
        raise UnmaskError(f"{path}: not found; --resume needs the folder of an earlier run")
    try:
        saved = json.loads(path.read_text())
        return TrainConfig.from_dict(saved["train"]), saved["model"]
    except (ValueError, KeyError, TypeError) as err:
        raise UnmaskError(f"{path}: not a config written by unmask train ({err})") from None


# --- the steps of a run -----------------------------------------------------------------------


def network_config(cfg: TrainConfig, overrides: dict | None = None) -> ModelConfig:
    """The network a new run trains: the ``--init`` model's (overrides must agree with it), or
    the preset's with the overrides (``ModelConfig`` fields typed or read from a config)."""
    overrides = overrides or {}
    if cfg.init:  # continue from a model file: its network, whatever the preset says
        from models.checkpoint import load_model

        model_cfg = load_model(cfg.init, task=cfg.task, size=cfg.size).config
        for k, v in overrides.items():
            if getattr(model_cfg, k) != v:
                raise UnmaskError(
                    f"--{k.replace('_', '-')} {v} does not combine with --init {cfg.init} (its "
                    f"network has {k} {getattr(model_cfg, k)}; the network comes from the file)"
                )
        return model_cfg
    try:
        spec = get_task(cfg.task).spec(cfg.size)
        model_cfg = ModelConfig.from_spec(spec, cfg.preset, **overrides)
    except ValueError as err:
        raise UnmaskError(f"model: {err}") from None
    if cfg.sizes and (model_cfg.pos != "rope2d" or model_cfg.block):
        raise UnmaskError("--sizes needs --pos rope2d (and no --block): a model for any grid size")
    return model_cfg


def _model_config(cfg: TrainConfig, out: Path, resume: bool, overrides: dict | None) -> ModelConfig:
    last = out / "last.ckpt"
    if resume:
        if not last.is_file():
            raise UnmaskError(f"{last}: not found; nothing to resume")
        return ModelConfig.from_dict(read_run_config(out)[1])
    if last.exists():
        raise UnmaskError(
            f"{out} already holds a run (last.ckpt); pass --resume or choose another --out"
        )
    if out.exists() and not out.is_dir():
        raise UnmaskError(f"--out {out} is a file, not a folder")
    return network_config(cfg, overrides)


def _is_rank_zero() -> bool:
    """True in the launching process (before Lightning's DDP launcher starts the others)."""
    return all(os.environ.get(k, "0") == "0" for k in ("LOCAL_RANK", "NODE_RANK"))


def run_config(model_cfg: ModelConfig, cfg: TrainConfig, runtime: Runtime) -> dict:
    """What ``OUT/config.json`` holds: the network, the training options and the runtime (what
    ``unmask train --config`` reads back and ``--print-config`` prints)."""
    return {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "runtime": asdict(runtime)}


def _write_run_config(out: Path, model_cfg: ModelConfig, cfg: TrainConfig, runtime) -> None:
    text = json.dumps(run_config(model_cfg, cfg, runtime), indent=2)
    atomic_write_text(out / "config.json", text + "\n")


def _loggers(out: Path) -> list:
    loggers: list = [CSVLogger(save_dir=str(out), name="logs")]
    try:
        import importlib.util

        from lightning.pytorch.loggers import TensorBoardLogger

        if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
            loggers.append(TensorBoardLogger(save_dir=str(out), name="tb"))
    except ImportError:
        pass
    return loggers


def _trainer(
    cfg: TrainConfig, out: Path, runtime: Runtime, ema: EMA | None, extra_callbacks: list | None
) -> L.Trainer:
    cells = get_task(cfg.task).spec(cfg.size).num_cells
    callbacks: list = [
        ModelCheckpoint(
            dirpath=out, save_last=True, save_top_k=0, every_n_train_steps=cfg.ckpt_every
        ),  # fmt: skip
        ModelCheckpoint(
            dirpath=out,
            filename="best",
            monitor="val/solve_rate",
            mode="max",
            save_top_k=1,
            enable_version_counter=False,
        ),  # fmt: skip
        # Lightning's monitor: samples, cells and FLOPs per second and MFU (when it knows the
        # device's peak) into the logs, over windows of logged steps.
        ThroughputMonitor(
            batch_size_fn=_rows,
            length_fn=lambda batch: _rows(batch) * cells,
            window_size=max(2, min(100, cfg.steps // 4)),
        ),
        *(extra_callbacks or []),
    ]
    if ema is not None:
        callbacks.insert(0, ema)
    if runtime.progress:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    minutes = runtime.max_minutes
    return L.Trainer(
        accelerator=runtime.accelerator,
        devices=runtime.devices,
        num_nodes=runtime.num_nodes,
        strategy=runtime.strategy,
        precision=cfg.precision,
        max_steps=cfg.steps,
        # Wall-clock cap (a lease or a queue slot): the run stops early and still exports.
        max_time=_dt.timedelta(minutes=minutes) if minutes else None,
        val_check_interval=cfg.val_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=cfg.grad_clip,
        log_every_n_steps=cfg.log_every,
        logger=_loggers(out),
        callbacks=callbacks,
        enable_progress_bar=runtime.progress,
        enable_model_summary=runtime.progress,
        use_distributed_sampler=False,  # each rank draws its own batches (seeded by rank)
        default_root_dir=str(out),
    )


def _rows(batch) -> int:
    """Rows in a training batch (a dict) or a validation batch (puzzle and solution tensors)."""
    return (batch["tokens"] if isinstance(batch, dict) else batch[0]).shape[0]


def run(
    cfg: TrainConfig,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    model_overrides: dict | None = None,
    runtime: Runtime | None = None,
    extra_callbacks: list | None = None,
) -> dict:
    """Train (or resume) one run into folder ``out``; returns the summary stored in model.pt.

    Writes ``out/config.json``, ``out/last.ckpt`` (every ``ckpt_every`` steps and at the end),
    ``out/best.ckpt`` (best validation solve rate), ``out/model.pt`` and ``out/logs/``.
    ``runtime`` (default ``Runtime()``) says where and how it runs; ``extra_callbacks`` are
    handed to the Lightning Trainer as they are.
    """
    out, runtime = Path(out), runtime or Runtime()
    check_config(cfg)
    check_runtime(runtime)
    check_folder("--out", out)
    model_cfg = _model_config(cfg, out, resume, model_overrides)
    check_memory_for_batch(cfg, model_cfg)
    if resume:
        check_checkpoint(out / "last.ckpt")
    datamodule = PuzzleDataModule(cfg, model_cfg.spec, out, progress=runtime.progress)
    if _is_rank_zero():
        datamodule.prepare_data()  # bad data stops the run before anything else is written
    if _is_rank_zero() and not resume:
        _write_run_config(out, model_cfg, cfg, runtime)
    module, lineage = _module(cfg, model_cfg, resume, runtime.progress)
    ema = EMA(cfg.ema) if cfg.ema > 0 else None
    trainer = _trainer(cfg, out, runtime, ema, extra_callbacks)
    seconds, rates = _fit(trainer, module, datamodule, out / "last.ckpt" if resume else None)
    trainer.save_checkpoint(out / "last.ckpt", weights_only=False)  # the final state

    summary = _summary(cfg, model_cfg.spec, module, trainer, datamodule, seconds, resume, rates)
    summary["lineage"] = lineage + summary["lineage"]
    if trainer.is_global_zero:
        weights = ema.averaged_state() if ema is not None else _live_weights(module)
        if not all(bool(torch.isfinite(v).all()) for v in weights.values() if v.is_floating_point()):
            raise UnmaskError(f"training diverged: the weights hold nan or inf at step "
                              f"{trainer.global_step} (--lr {cfg.lr:g}); model.pt not written")  # fmt: skip
        save_model(out / "model.pt", weights, summary, config=model_cfg)
        _print_summary(cfg, summary, out)
    return summary


def _module(cfg: TrainConfig, model_cfg: ModelConfig, resume: bool, progress: bool):
    """The LightningModule (seeded; from ``--init``'s weights when given) and the lineage of
    the runs its weights come from."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if cfg.precision.startswith("bf16") and torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    module = MDMTrainer(model_cfg.to_dict(), cfg.to_dict())
    module.print_validation = progress
    lineage = []
    if cfg.init and not resume:
        from models.checkpoint import load_model

        init = load_model(cfg.init, task=cfg.task, size=cfg.size)
        module.denoiser.load_state_dict(init.model.state_dict())
        s = init.summary
        lineage = list(s.get("lineage") or [
            {"steps": s.get("steps"), "minutes": round((s.get("seconds") or 0) / 60, 2),
             "device": s.get("device"), "file": str(cfg.init)}
        ])  # fmt: skip
    if cfg.compile:
        module.compile_denoiser()
    if not progress:  # no Lightning banners either
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    return module, lineage


def _fit(trainer: L.Trainer, module: MDMTrainer, datamodule, ckpt: Path | None):
    """Fit (from ``ckpt`` on --resume), then validate the final weights once more; returns
    (seconds of fitting, the throughput rates Lightning logged)."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__`.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        warnings.filterwarnings("ignore", message=".*flops_per_batch.*")
        try:
            trainer.fit(
                module,
                datamodule=datamodule,
                ckpt_path=None if ckpt is None else str(ckpt),
                weights_only=True,  # our checkpoints hold only tensors and plain containers
            )
        except SystemExit as stop:  # Lightning ends an interrupted fit with exit(1)
            if trainer.interrupted:
                raise KeyboardInterrupt from None
            raise stop
        seconds = time.perf_counter() - t0
        rates = _throughput(trainer)  # before validate() resets the logged metrics
        if module.last_val_step != trainer.global_step:  # validate the weights that ship
            trainer.validate(module, datamodule=datamodule, verbose=False)
    return seconds, rates


def _live_weights(module: MDMTrainer) -> dict[str, torch.Tensor]:
    return {k: v.detach().float().cpu().clone() for k, v in module.denoiser.state_dict().items()}


def _throughput(trainer: L.Trainer) -> tuple[float | None, float | None, float | None]:
    """(steps/s, cells/s, MFU) as Lightning's ThroughputMonitor last logged them (None when the
    run was too short for one window)."""
    m = {k: float(v) for k, v in trainer.logged_metrics.items() if k.startswith("train")}

    def get(name: str) -> float | None:
        return next((v for k, v in m.items() if k.endswith(name)), None)

    return get("/batches_per_sec"), get("/items_per_sec"), get("/mfu")


def _summary(
    cfg: TrainConfig,
    spec: TaskSpec,
    module: MDMTrainer,
    trainer: L.Trainer,
    datamodule: PuzzleDataModule,
    seconds: float,
    resume: bool,
    rates: tuple,
) -> dict:
    world = trainer.world_size
    steps_per_s, cells_per_s, mfu = rates
    device = _device_name(trainer.strategy.root_device)
    steps = int(trainer.global_step)
    return {
        "data": datamodule.train_set.source,
        "train_examples": len(datamodule.train_set),
        "val_data": datamodule.val_set.source,
        "val_examples": len(datamodule.val_set),
        "val_overlap_dropped": datamodule.info.get("val_overlap_dropped", 0),
        "steps": steps,
        "seconds": round(seconds, 1),
        "steps_per_s": round(steps_per_s, 3) if steps_per_s else None,
        "tokens_per_s": round(cells_per_s * world) if cells_per_s else None,
        "mfu": round(mfu, 4) if mfu else None,
        "val_solve_rate": module.last_val_solve_rate,
        "val_step": module.last_val_step,
        "best_val_solve_rate": module.best_val_solve_rate,
        "val_sampler": "greedy top-1 (max probability)",
        "preset": cfg.preset,
        "parameters": module.denoiser.num_parameters(),
        "seed": cfg.seed,
        "batch_size": cfg.batch_size,
        "world_size": world,
        "precision": cfg.precision,
        "ema": cfg.ema,
        "weights": "ema" if cfg.ema > 0 else "final",
        "resumed": resume,
        "device": device,
        "torch": str(torch.__version__),
        "lightning": str(L.__version__),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "sizes": cfg.sizes or [cfg.size],
        "lineage": [{"steps": steps, "minutes": round(seconds / 60, 2), "device": device}],
    }


def _device_name(dev: torch.device) -> str:
    # The trainer's device: after fit Lightning has moved the module back to the CPU.
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{dev.type} ({torch.get_num_threads()} threads)"


def _print_summary(cfg: TrainConfig, s: dict, out: Path) -> None:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines = [
        f"trained {get_task(cfg.task).describe(cfg.size)} {cfg.preset} "
        f"({s['parameters'] / 1e6:.2f}M parameters) to step {s['steps']} in {s['seconds']:.1f} s "
        f"on {s['device']}",
    ]
    if s["steps_per_s"]:
        mfu = f", MFU {100 * s['mfu']:.1f}%" if s["mfu"] else ""
        lines.append(
            f"throughput (Lightning ThroughputMonitor, last window): {s['steps_per_s']:.2f} "
            f"steps/s, {s['tokens_per_s']:,} cells/s{mfu}"
        )
    lines.append(
        f"validation solve rate (greedy top-1, {s['val_examples']} puzzles): "
        f"at the final step {s['val_step']} {pct(s['val_solve_rate'])}, "
        f"best {pct(s['best_val_solve_rate'])}"
    )
    lines.append(f"wrote {out / 'model.pt'}, {out / 'last.ckpt'}, {out / 'config.json'}")
    print("\n".join(lines), flush=True)
