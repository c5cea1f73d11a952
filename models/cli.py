"""``unmask train``: train a denoiser for Sudoku or mazes (the work lives in ``models.train``)."""

from __future__ import annotations

import argparse

# Training flags that map one-to-one onto TrainConfig fields (dest == field name).
_TRAIN_FIELDS = (
    "steps", "batch_size", "lr", "weight_decay", "warmup_steps", "ema", "elbo_weight",
    "clue_mask_prob", "augment", "train_size", "val_size", "val_every", "ckpt_every",
    "log_every", "data", "val_data", "maze_algorithm", "precision", "compile", "num_workers",
)  # fmt: skip


def register(sub) -> None:
    """Add the ``train`` subcommand to the dispatcher's subparsers."""
    p = sub.add_parser(
        "train",
        help="train a masked-diffusion denoiser (writes model.pt)",
        description=(
            "Train a masked-diffusion denoiser for Sudoku or mazes with Lightning. Writes "
            "OUT/model.pt (the model file `unmask solve --checkpoint` reads), OUT/last.ckpt and "
            "OUT/best.ckpt (Lightning checkpoints), OUT/config.json (the resolved options) and "
            "OUT/logs/ (CSV metrics). Data is generated up front unless --data is given. "
            "Example: unmask train sudoku --size 4 --preset tiny --seed 0 --out runs/s4"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("task", choices=("sudoku", "maze"), help="which puzzle to learn")
    g = p.add_argument_group("task and model")
    g.add_argument(
        "--size",
        type=int,
        default=None,
        help="Sudoku side n (4, 9 or 16; default 9); for mazes the same as --cells",
    )
    g.add_argument(
        "--cells",
        type=int,
        default=None,
        help="maze cells per side (grid is 2N+1 tokens; default 10)",
    )
    g.add_argument(
        "--preset",
        choices=("tiny", "small"),
        default=None,
        help="network size: tiny (~0.2M parameters, CPU) or small (~6.3M, GPU); default small",
    )
    g.add_argument(
        "--pos",
        choices=("rowcol", "rope2d", "learned1d"),
        default=None,
        help="position signal (default rowcol: summed row and column embeddings)",
    )
    g = p.add_argument_group("optimisation (defaults depend on task, size and preset)")
    g.add_argument("--steps", type=int, help="optimizer steps in total")
    g.add_argument("--batch-size", type=int, help="examples per step per device")
    g.add_argument("--lr", type=float, help="peak AdamW learning rate")
    g.add_argument("--weight-decay", type=float, help="AdamW weight decay on weight matrices")
    g.add_argument("--warmup-steps", type=int, help="linear warm-up steps before cosine decay")
    g.add_argument(
        "--ema", type=float, help="decay of a weight EMA used for validation and model.pt (0 = off)"
    )
    g.add_argument(
        "--elbo-weight",
        action="store_true",
        default=None,
        help="weight each example's loss by 1/t (ELBO) instead of a plain mean over masked cells",
    )
    g.add_argument(
        "--clue-mask-prob",
        type=float,
        help="Sudoku: chance that an example is masked within a real puzzle's "
        "blanks instead of over all cells",
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
        help="validation set file (default: generated with a separate seed, or held out of --data)",
    )
    g.add_argument("--train-size", type=int, help="puzzles to generate for training")
    g.add_argument("--val-size", type=int, help="validation puzzles")
    g.add_argument(
        "--maze-algorithm",
        choices=("dfs", "wilson", "kruskal", "prim", "mix"),
        help="maze generator for generated data (default dfs)",
    )
    g.add_argument("--num-workers", type=int, help="DataLoader worker processes")
    g = p.add_argument_group("run")
    g.add_argument(
        "--seed", type=int, default=None, help="seeds data, masks and initial weights (default 0)"
    )
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last.ckpt (same options)",
    )
    g.add_argument("--val-every", type=int, help="steps between validation solve-rate checks")
    g.add_argument("--ckpt-every", type=int, help="steps between writes of last.ckpt")
    g.add_argument("--log-every", type=int, help="steps between logged metrics")
    g.add_argument(
        "--precision", help="Lightning precision (default bf16-mixed on GPU, 32-true on CPU)"
    )
    g.add_argument(
        "--compile",
        action="store_true",
        default=None,
        help="torch.compile the denoiser's training forward (GPU)",
    )
    g.add_argument("--accelerator", default="auto", help="Lightning accelerator (cpu, gpu, auto)")
    g.add_argument("--devices", default="auto", help="devices per node (Lightning syntax)")
    g.add_argument("--num-nodes", type=int, default=1, help="nodes for multi-node DDP")
    g.add_argument("--strategy", default="auto", help="Lightning strategy (e.g. ddp)")
    g.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop after this many minutes of wall time and export model.pt as it is then "
        "(the cosine schedule still spans --steps)",
    )
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    # Debug aid for the resume test: SIGKILL the process after this many steps.
    g.add_argument("--debug-kill-at-step", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def _devices(value: str):
    return int(value) if value.isdigit() else value


def main(args: argparse.Namespace) -> int:
    """Resolve options and run the training (``models.train.run``)."""
    from pathlib import Path

    from models.train import RUNTIME_KEYS, default_config, read_run_config, run
    from puzzles.errors import UnmaskError

    if args.task == "sudoku":
        if args.cells is not None:
            raise UnmaskError("--cells is for mazes; use --size for Sudoku")
        size = args.size
        if size is not None and size not in (4, 9, 16):
            raise UnmaskError(f"--size must be 4, 9 or 16 for Sudoku, got {size}")
    else:
        if args.size is not None and args.cells is not None and args.size != args.cells:
            raise UnmaskError("--size and --cells disagree; give one of them")
        size = args.cells if args.cells is not None else args.size
        if size is not None and size < 2:
            raise UnmaskError(f"--cells must be >= 2, got {size}")
    given = {k: getattr(args, k) for k in _TRAIN_FIELDS}
    overrides = {"pos": args.pos} if args.pos else {}
    out = Path(args.out)
    if args.resume:
        if not (out / "last.ckpt").is_file():
            raise UnmaskError(f"{out / 'last.ckpt'}: not found; nothing to resume")
        cfg, model_dict = read_run_config(out)
        wanted = dict(task=args.task, size=size, seed=args.seed, preset=args.preset) | given
        wanted = {k: v for k, v in wanted.items() if v is not None}
        saved = cfg.to_dict()
        if args.pos and args.pos != model_dict.get("pos"):
            raise UnmaskError(f"--pos {args.pos} differs from the run in {out}")
        for k, v in wanted.items():
            if k in RUNTIME_KEYS:
                setattr(cfg, k, v)
            elif saved.get(k) != v:
                raise UnmaskError(
                    f"--{k.replace('_', '-')} {v} differs from the run in {out} "
                    f"({saved.get(k)}); resume with the same options"
                )
    else:
        if size is None:
            size = 9 if args.task == "sudoku" else 10
        cfg = default_config(args.task, size, args.preset or "small", args.seed or 0, **given)
    run(
        cfg,
        out,
        resume=args.resume,
        model_overrides=overrides,
        devices=_devices(str(args.devices)),
        num_nodes=args.num_nodes,
        strategy=args.strategy,
        accelerator=args.accelerator,
        progress=args.progress,
        kill_at_step=args.debug_kill_at_step,
        max_minutes=args.max_minutes,
    )
    return 0
