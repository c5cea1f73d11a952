"""``unmask train TASK``: train a denoiser for any registered task (the work lives in
``models.train``)."""

from __future__ import annotations

import argparse

from models.config import POSITIONS, PRECISIONS, PRESETS
from puzzles.argtypes import nonneg_float, nonneg_int, number, positive_float, positive_int

fraction = number(0.0, 1.0)

# Training flags that map one-to-one onto TrainConfig fields (dest == field name).
_TRAIN_FIELDS = (
    "steps", "batch_size", "lr", "weight_decay", "warmup_steps", "ema", "elbo_weight",
    "clue_mask_prob", "augment", "train_size", "val_size", "val_every", "ckpt_every",
    "log_every", "data", "val_data", "generator", "precision", "compile", "num_workers",
    "device_batches", "fresh_grids", "sizes", "init",
)  # fmt: skip
# Network flags that override the preset (ModelConfig fields).
_MODEL_FIELDS = ("pos", "d_model", "n_layers", "n_heads", "d_ff", "block", "n_loops")


def _devices(text: str):
    """Lightning's --devices syntax: auto, a count, -1 (all), or a comma list of indices."""
    t = text.strip()
    if t == "auto" or t == "-1":
        return t if t == "auto" else -1
    if t.isdigit() and int(t) >= 1:
        return int(t)
    parts = [p.strip() for p in t.split(",") if p.strip()]
    if parts and all(p.isdigit() for p in parts):
        return t
    raise argparse.ArgumentTypeError(
        f"expected auto, a device count, -1 or a comma list of device indices, got {text!r}"
    )


def _size_list(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 5,7,9, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 5,7,9, got {text!r}")
    return sorted(set(sizes))


def register(sub) -> None:
    """Add the ``train`` subcommand, with one sub-subcommand per task."""
    from puzzles.task import tasks

    p = sub.add_parser(
        "train",
        help="train a masked-diffusion denoiser (writes model.pt)",
        description=(
            "Train a masked-diffusion denoiser with Lightning. Writes OUT/model.pt (the model "
            "file `unmask solve --checkpoint` reads), OUT/last.ckpt and OUT/best.ckpt (Lightning "
            "checkpoints), OUT/config.json (the resolved options) and OUT/logs/ (CSV metrics). "
            "Data is generated up front unless --data is given. "
            "Example: unmask train sudoku --size 4 --preset tiny --seed 0 --out runs/s4"
        ),
    )
    per_task = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in tasks():
        t = per_task.add_parser(
            task.name,
            help=f"learn {task.title or task.name} puzzles",
            description=p.description,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        _add_train_args(t, task)
        t.set_defaults(func=main)


def _add_train_args(p: argparse.ArgumentParser, task) -> None:
    g = p.add_argument_group("task and model")
    g.add_argument(
        task.size_flag,
        *task.size_aliases,
        dest="size",
        type=positive_int,
        default=None,
        help=f"{task.size_help}",
    )
    g.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default=None,
        help="network size: tiny (~0.2M parameters, CPU) or small (~6.3M, GPU); default small",
    )
    g.add_argument(
        "--pos",
        choices=POSITIONS,
        default=None,
        help="position signal (default rowcol: summed row and column embeddings)",
    )
    g.add_argument("--d-model", type=positive_int, help="width (overrides the preset)")
    g.add_argument(
        "--n-layers", type=positive_int, help="transformer blocks (overrides the preset)"
    )
    g.add_argument("--n-heads", type=positive_int, help="attention heads (overrides the preset)")
    g.add_argument("--d-ff", type=positive_int, help="MLP width (overrides the preset)")
    g.add_argument(
        "--block",
        type=nonneg_int,
        help="add a learned embedding of each cell's block x block block (Sudoku: its box, 3)",
    )
    g.add_argument(
        "--n-loops",
        type=positive_int,
        help="apply the stack of blocks this many times with the same weights (default 1)",
    )
    g = p.add_argument_group("optimisation (defaults depend on task, size and preset)")
    g.add_argument("--steps", type=positive_int, help="optimizer steps in total")
    g.add_argument("--batch-size", type=positive_int, help="examples per step per device")
    g.add_argument("--lr", type=positive_float, help="peak AdamW learning rate")
    g.add_argument(
        "--weight-decay", type=nonneg_float, help="AdamW weight decay on weight matrices"
    )
    g.add_argument(
        "--warmup-steps", type=nonneg_int, help="linear warm-up steps before cosine decay"
    )
    g.add_argument(
        "--ema",
        type=number(0.0, 1.0, high_open=True),
        help="decay of a weight EMA used for validation and model.pt (0 = off)",
    )
    g.add_argument(
        "--elbo-weight",
        action="store_true",
        default=None,
        help="weight each example's loss by 1/t (ELBO) instead of a plain mean over masked cells",
    )
    g.add_argument(
        "--clue-mask-prob",
        type=fraction,
        help="chance that an example is masked within a real puzzle's blanks instead of over "
        "all its value cells",
    )
    g.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        default=None,
        help="turn off random symmetries (Sudoku transforms, maze rotations)",
    )
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        help="training set from `unmask generate` (.npz, .txt, .csv); several files "
        "separated by commas are concatenated; default: generate --train-size puzzles from --seed",
    )
    g.add_argument(
        "--val-data",
        help="validation set file (needs --data; default: held out of --data, or generated "
        "with a separate seed)",
    )
    g.add_argument("--train-size", type=positive_int, help="puzzles to generate for training")
    g.add_argument("--val-size", type=positive_int, help="validation puzzles")
    if len(task.generators) > 1:
        g.add_argument(
            "--generator",
            choices=task.generators,
            help=f"generator for generated data (default {task.generators[0]})",
        )
    g.add_argument(
        "--fresh-grids",
        type=fraction,
        help="share of the rows of each batch masked over new random solutions instead of the "
        "training set (default 0)",
    )
    g.add_argument(
        "--sizes",
        type=_size_list,
        help="train one model on several sizes (comma-separated, e.g. 5,7,9,11; needs --pos "
        "rope2d): each step is a batch of one size with about the cells of a --size batch",
    )
    g.add_argument("--num-workers", type=nonneg_int, help="DataLoader worker processes")
    g.add_argument(
        "--device-batches",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make each batch with torch on the training device (default: on with a GPU)",
    )
    g = p.add_argument_group("run")
    g.add_argument(
        "--seed", type=nonneg_int, default=None,
        help="seeds data, masks and initial weights (default 0)",
    )  # fmt: skip
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument(
        "--init",
        metavar="MODEL",
        help="start from this model file's weights and network (a new schedule; the model's "
        "summary keeps the earlier runs in its lineage)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last.ckpt (same options)",
    )
    g.add_argument(
        "--val-every", type=positive_int, help="steps between validation solve-rate checks"
    )
    g.add_argument("--ckpt-every", type=positive_int, help="steps between writes of last.ckpt")
    g.add_argument("--log-every", type=positive_int, help="steps between logged metrics")
    g.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="Lightning precision (default bf16-mixed on GPU, 32-true on CPU)",
    )
    g.add_argument(
        "--compile",
        action="store_true",
        default=None,
        help="torch.compile the denoiser's training forward (GPU)",
    )
    g.add_argument(
        "--accelerator",
        default="auto",
        choices=("auto", "cpu", "gpu", "cuda", "mps"),
        help="Lightning accelerator",
    )
    g.add_argument("--devices", default="auto", type=_devices, help="devices per node")
    g.add_argument("--num-nodes", type=positive_int, default=1, help="nodes for multi-node DDP")
    g.add_argument("--strategy", default="auto", help="Lightning strategy (e.g. ddp)")
    g.add_argument(
        "--max-minutes",
        type=positive_float,
        default=None,
        help="stop after this many minutes of wall time and export model.pt as it is then "
        "(the cosine schedule still spans --steps)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    """Resolve options and run the training (``models.train.run``)."""
    from pathlib import Path

    from models.train import RUNTIME_KEYS, default_config, read_run_config, run
    from puzzles.errors import UnmaskError
    from puzzles.task import get_task

    task = get_task(args.task)
    size = args.size
    if size is not None:
        try:
            task.spec(size)
        except ValueError as err:
            raise UnmaskError(f"{task.size_flag}: {err}") from None
    given = {k: getattr(args, k, None) for k in _TRAIN_FIELDS}
    overrides = {k: getattr(args, k) for k in _MODEL_FIELDS if getattr(args, k) is not None}
    out = Path(args.out)
    if args.resume:
        if not (out / "last.ckpt").is_file():
            raise UnmaskError(f"{out / 'last.ckpt'}: not found; nothing to resume")
        cfg, model_dict = read_run_config(out)
        wanted = dict(task=args.task, size=size, seed=args.seed, preset=args.preset) | given
        wanted = {k: v for k, v in wanted.items() if v is not None}
        saved = cfg.to_dict()
        for k, v in overrides.items():
            if v != model_dict.get(k):
                flag = "--" + k.replace("_", "-")
                raise UnmaskError(f"{flag} {v} differs from the run in {out}")
        for k, v in wanted.items():
            if k in RUNTIME_KEYS:
                setattr(cfg, k, v)
            elif saved.get(k) != v:
                raise UnmaskError(
                    f"--{k.replace('_', '-')} {v} differs from the run in {out} "
                    f"({saved.get(k)}); resume with the same options"
                )
    else:
        size = task.default_size if size is None else size
        cfg = default_config(args.task, size, args.preset or "small", args.seed or 0, **given)
    run(
        cfg,
        out,
        resume=args.resume,
        model_overrides=overrides,
        devices=args.devices,
        num_nodes=args.num_nodes,
        strategy=args.strategy,
        accelerator=args.accelerator,
        progress=args.progress,
        max_minutes=args.max_minutes,
    )
    return 0
