"""One training run: resolve options, build the Lightning pieces, fit, export ``model.pt``.

``unmask train`` (``models.cli``) parses flags into a ``TrainConfig`` and calls ``run``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import signal
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from models.checkpoint import save_model
from models.config import ModelConfig, TrainConfig
from models.data import PuzzleDataModule
from models.lightning import MDMTrainer
from puzzles.atomic import atomic_write_text
from puzzles.errors import UnmaskError
from puzzles.tokens import spec_for

# Options that may differ between a run and its --resume (they do not change the math).
RUNTIME_KEYS = ("num_workers", "compile")


def default_config(task: str, size: int, preset: str, seed: int, **given) -> TrainConfig:
    """Fill every training option not in ``given`` (or given as None) with its default.

    Defaults are sized so that ``unmask train sudoku --size 4 --preset tiny`` finishes in a few
    minutes on a 2-core CPU, and the ``small`` preset suits a GPU run.
    """
    gpu = torch.cuda.is_available()
    tiny = preset == "tiny"
    if task == "sudoku":
        steps = (600 if tiny else 2000) if size == 4 else 40000
        train_size = {4: 2000, 9: 50000, 16: 2000}.get(size, 2000)
        clue_mask_prob = 0.5
    else:
        steps = 3000 if tiny else 40000
        train_size = 20000
        clue_mask_prob = 0.0
    batch_size = 128 if tiny else 256
    defaults = dict(
        task=task,
        size=size,
        preset=preset,
        seed=seed,
        steps=steps,
        batch_size=batch_size,
        lr=1e-3 if tiny else 5e-4,
        weight_decay=0.05,
        warmup_steps=None,
        min_lr_ratio=0.1,
        grad_clip=1.0,
        ema=0.0 if tiny else 0.999,
        elbo_weight=False,
        clue_mask_prob=clue_mask_prob,
        augment=True,
        train_size=train_size,
        val_size=256,
        val_every=None,
        ckpt_every=None,
        log_every=None,
        data=None,
        val_data=None,
        maze_algorithm="dfs",
        precision="bf16-mixed" if gpu else "32-true",
        compile=False,
        num_workers=min(4, max(0, (os.cpu_count() or 1) - 1)) if gpu else 0,
    )
    for k, v in given.items():
        if k not in defaults:
            raise TypeError(f"unknown training option {k!r}")
        if v is not None:
            defaults[k] = v
    s = defaults["steps"]
    if defaults["warmup_steps"] is None:
        defaults["warmup_steps"] = min(1000, max(1, s // 20))
    if defaults["val_every"] is None:
        defaults["val_every"] = max(1, min(s, 200 if tiny else 2000))
    if defaults["ckpt_every"] is None:
        defaults["ckpt_every"] = max(1, min(s, 200 if tiny else 1000))
    if defaults["log_every"] is None:
        defaults["log_every"] = max(1, min(50, s // 10))
    cfg = TrainConfig(**defaults)
    check_config(cfg)
    return cfg


def check_config(cfg: TrainConfig) -> None:
    """Raise ``UnmaskError`` for option values that cannot work."""
    positive = ("steps", "batch_size", "val_every", "ckpt_every", "log_every", "val_size")
    for name in positive:
        if getattr(cfg, name) < 1:
            raise UnmaskError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(cfg, name)}")
    if cfg.train_size < 1 and not cfg.data:
        raise UnmaskError(f"--train-size must be >= 1, got {cfg.train_size}")
    if cfg.lr <= 0:
        raise UnmaskError(f"--lr must be > 0, got {cfg.lr}")
    if not 0 <= cfg.ema < 1:
        raise UnmaskError(f"--ema must be in [0, 1), got {cfg.ema}")
    if not 0 <= cfg.clue_mask_prob <= 1:
        raise UnmaskError(f"--clue-mask-prob must be in [0, 1], got {cfg.clue_mask_prob}")
    if cfg.num_workers < 0:
        raise UnmaskError(f"--num-workers must be >= 0, got {cfg.num_workers}")
    for name in ("data", "val_data"):
        path = getattr(cfg, name)
        for part in (path or "").split(","):
            if part.strip() and not Path(part.strip()).is_file():
                raise UnmaskError(f"--{name.replace('_', '-')} {part.strip()}: file not found")


class Throughput(Callback):
    """Training steps/s and cells/s, excluding the first step (compile warm-up) and validation."""

    def __init__(self):
        self.t_first: float | None = None
        self.first_step = 0
        self.val_seconds = 0.0
        self._v0: float | None = None
        self.steps_per_s: float | None = None
        self.elapsed = 0.0

    @staticmethod
    def _now(pl_module) -> float:
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        return time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.t_first is None:
            self.t_first = self._now(pl_module)
            self.first_step = trainer.global_step

    def on_validation_start(self, trainer, pl_module) -> None:
        if self.t_first is not None:
            self._v0 = self._now(pl_module)

    def on_validation_end(self, trainer, pl_module) -> None:
        if self._v0 is not None:
            self.val_seconds += self._now(pl_module) - self._v0
            self._v0 = None

    def on_train_end(self, trainer, pl_module) -> None:
        if self.t_first is None:
            return
        self.elapsed = self._now(pl_module) - self.t_first - self.val_seconds
        steps = trainer.global_step - self.first_step
        if steps > 0 and self.elapsed > 0:
            self.steps_per_s = steps / self.elapsed


class _KillAtStep(Callback):
    """Debug aid for the resume test: SIGKILL this process once ``step`` steps are done."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.step:
            os.kill(os.getpid(), signal.SIGKILL)


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


def read_run_config(out: Path) -> tuple[TrainConfig, dict]:
    """The ``TrainConfig`` and model-config dict saved in ``out/config.json``."""
    path = out / "config.json"
    if not path.is_file():
        raise UnmaskError(f"{path}: not found; --resume needs the folder of an earlier run")
    try:
        saved = json.loads(path.read_text())
        return TrainConfig(**saved["train"]), saved["model"]
    except (ValueError, KeyError, TypeError) as err:
        raise UnmaskError(f"{path}: not a config written by unmask train ({err})") from None


def run(
    cfg: TrainConfig,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    model_overrides: dict | None = None,
    devices: str | int = "auto",
    num_nodes: int = 1,
    strategy: str = "auto",
    accelerator: str = "auto",
    progress: bool = True,
    kill_at_step: int | None = None,
    max_minutes: float | None = None,
) -> dict:
    """Train (or resume) one run into folder ``out``; returns the summary stored in model.pt.

    Writes ``out/config.json``, ``out/last.ckpt`` (every ``ckpt_every`` steps and at the end),
    ``out/best.ckpt`` (best validation solve rate), ``out/model.pt`` and ``out/logs/``.
    """
    out = Path(out)
    spec = spec_for(cfg.task, cfg.size)
    last = out / "last.ckpt"
    if max_minutes is not None and max_minutes <= 0:
        raise UnmaskError(f"--max-minutes must be > 0, got {max_minutes}")
    if resume:
        if not last.is_file():
            raise UnmaskError(f"{last}: not found; nothing to resume")
        model_cfg = ModelConfig.from_dict(read_run_config(out)[1])
    else:
        if last.exists():
            raise UnmaskError(
                f"{out} already holds a run (last.ckpt); pass --resume or choose another --out"
            )
        model_cfg = ModelConfig.from_spec(spec, cfg.preset, **(model_overrides or {}))
    out.mkdir(parents=True, exist_ok=True)

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if cfg.precision.startswith("bf16") and torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    module = MDMTrainer(model_cfg.to_dict(), cfg.to_dict())
    if cfg.compile:
        module.compile_denoiser()
    datamodule = PuzzleDataModule(cfg, out, progress=progress)

    throughput = Throughput()
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
        throughput,
    ]
    if progress:
        callbacks.append(TQDMProgressBar(refresh_rate=10))
    if kill_at_step is not None:
        callbacks.append(_KillAtStep(kill_at_step))

    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=cfg.precision,
        max_steps=cfg.steps,
        # Wall-clock cap (a lease or a queue slot): the run stops early and still exports.
        max_time=_dt.timedelta(minutes=max_minutes) if max_minutes else None,
        val_check_interval=cfg.val_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=cfg.grad_clip,
        log_every_n_steps=cfg.log_every,
        logger=_loggers(out),
        callbacks=callbacks,
        enable_progress_bar=progress,
        enable_model_summary=progress,
        use_distributed_sampler=False,  # each rank draws its own batches (seeded by rank)
        default_root_dir=str(out),
    )
    if trainer.is_global_zero and not resume:
        atomic_write_text(
            out / "config.json",
            json.dumps(
                {
                    "model": model_cfg.to_dict(),
                    "train": cfg.to_dict(),
                    "spec": dataclasses.asdict(spec),
                    "runtime": {
                        "devices": str(devices),
                        "num_nodes": num_nodes,
                        "strategy": str(strategy),
                    },  # fmt: skip
                },
                indent=2,
            )
            + "\n",
        )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__`.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        trainer.fit(
            module,
            datamodule=datamodule,
            ckpt_path=str(last) if resume else None,
            weights_only=True,  # our checkpoints hold only tensors and plain containers
        )
    seconds = time.perf_counter() - t0
    trainer.save_checkpoint(last, weights_only=False)  # the final state, whatever ckpt_every was

    world = trainer.world_size
    cells_per_step = cfg.batch_size * spec.num_cells * world
    sps = throughput.steps_per_s
    summary = {
        "data": datamodule.train_set.source,
        "train_examples": len(datamodule.train_set),
        "val_data": datamodule.val_set.source,
        "val_examples": len(datamodule.val_set),
        "val_overlap_dropped": datamodule.info.get("val_overlap_dropped", 0),
        "steps": int(trainer.global_step),
        "seconds": round(seconds, 1),
        "steps_per_s": round(sps, 3) if sps else None,
        "tokens_per_s": round(sps * cells_per_step) if sps else None,
        "val_solve_rate": module.last_val_solve_rate,
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
        "device": _device_name(trainer.strategy.root_device),
        "torch": str(torch.__version__),
        "lightning": str(L.__version__),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if trainer.is_global_zero:
        save_model(out / "model.pt", module.export_state_dict(), spec, summary, config=model_cfg)
        _print_summary(cfg, summary, out, cells_per_step)
    return summary


def _device_name(dev: torch.device) -> str:
    # The trainer's device: after fit Lightning has moved the module back to the CPU.
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{dev.type} ({torch.get_num_threads()} threads)"


def _print_summary(cfg: TrainConfig, s: dict, out: Path, cells_per_step: int) -> None:
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines = [
        f"trained {cfg.task} {cfg.size}x{cfg.size} {cfg.preset} "
        f"({s['parameters'] / 1e6:.2f}M parameters) to step {s['steps']} in {s['seconds']:.1f} s "
        f"on {s['device']}",
    ]
    if s["steps_per_s"]:
        lines.append(
            f"throughput: {s['steps_per_s']:.2f} steps/s, {s['tokens_per_s']:,} tokens/s "
            f"({cells_per_step} cells per step; validation excluded)"
        )
    lines.append(
        f"validation solve rate (greedy top-1, {s['val_examples']} puzzles): "
        f"last {pct(s['val_solve_rate'])}, best {pct(s['best_val_solve_rate'])}"
    )
    lines.append(f"wrote {out / 'model.pt'}, {out / 'last.ckpt'}, {out / 'config.json'}")
    print("\n".join(lines), flush=True)
