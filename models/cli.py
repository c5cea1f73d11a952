"""``unmask train TASK``: train a denoiser for any registered task (the work lives in
``models.train``).

Every flag is made from a declaration: the family's size option (``Task.Options``), the
training options (``models.config.TrainConfig``), the network (``ModelConfig``), the runtime
(``models.train.Runtime``) and the command's own (``TrainCommand``). ``--config DIR/config.json``
re-runs a training from the config it wrote (flags typed on the command line override it);
``--print-config`` prints the resolved options and exits.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from models.config import ModelConfig, Runtime, TrainConfig
from puzzles.errors import UnmaskError
from puzzles.options import (
    add_command,
    build,
    config_json,
    given,
    option,
    read_config,
)


@dataclass(frozen=True, kw_only=True)
class TrainCommand:
    """The options of ``unmask train`` that are not part of the run's config."""

    out: str = option(help="output folder", required=True)
    resume: bool = option(
        False, help="continue the run in --out from its last.ckpt (same options)"
    )


def register(sub) -> None:
    """Add the ``train`` subcommand, with one sub-subcommand per task."""
    from puzzles.task import tasks

    p = sub.add_parser(
        "train",
        help="train a masked-diffusion denoiser (writes model.pt)",
        description=(
            "Train a masked-diffusion denoiser with Lightning. Writes OUT/model.pt (the model "
            "file `unmask solve --checkpoint` reads), OUT/last.ckpt and OUT/best.ckpt (Lightning "
            "checkpoints), OUT/config.json (the resolved options; --config reads it back) and "
            "OUT/logs/ (CSV metrics). Data is generated up front unless --data is given. "
            "Example: unmask train sudoku --size 4 --preset tiny --seed 0 --out runs/s4"
        ),
    )
    per_task = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in tasks():
        size = dict(only=[task.size_option], shown={task.size_option: str(task.default_size)})
        add_command(
            per_task, task.name, func=main, config="training",
            help=f"learn {task.title or task.name} puzzles", description=p.description,
            flags=[("task and model", task.options(), size),
                   ("task and model", TrainConfig, dict(only=["preset"])),
                   ("network (defaults: the preset's)", ModelConfig, {}),
                   ("training (defaults depend on task, size and preset)", TrainConfig,
                    dict(skip=["preset"], choices={"generator": task.generators})),
                   ("run", Runtime, {}), ("run", TrainCommand, {})],
        )  # fmt: skip


def _sections(args) -> dict:
    """{"train", "model", "runtime"}: the sections of ``--config`` (a training folder's
    config.json), checked, or empty ones."""
    if not args.config:
        return {"train": {}, "model": {}, "runtime": {}}
    sections = read_config(args.config, {"train": TrainConfig, "model": ModelConfig,
                                         "runtime": Runtime})  # fmt: skip
    model = dict(sections.get("model", {}))
    spec = model.pop("spec", None)
    train = dict(sections.get("train", {}))
    if train.get("task", args.task) != args.task or (spec and spec.get("task") != args.task):
        raise UnmaskError(f"--config {args.config}: a run of {train.get('task')}, not {args.task}")
    return {"train": train, "model": model, "runtime": sections.get("runtime", {})}


def main(args: argparse.Namespace) -> int:
    """Resolve options and run the training (``models.train.run``)."""
    from pathlib import Path

    from models.train import default_config, network_config, run, run_config
    from puzzles.task import get_task

    task = get_task(args.task)
    command = build(TrainCommand, given(args, TrainCommand))
    config = _sections(args)
    typed = {**config["train"], **given(args, TrainConfig)}
    size = given(args, task.options()).get(task.size_option, typed.pop("size", None))
    typed.pop("task", None)
    if size is not None:
        try:
            task.spec(size)
        except ValueError as err:
            raise UnmaskError(f"--{task.size_option}: {err}") from None
    overrides = {**config["model"], **given(args, ModelConfig)}
    runtime = build(Runtime, {**config["runtime"], **given(args, Runtime)})
    out = Path(command.out)
    if command.resume:
        cfg = _resumed(out, args.task, size, typed, overrides)
    else:
        size = task.default_size if size is None else size
        seed, preset = typed.pop("seed", 0), typed.pop("preset", "small")
        cfg = default_config(args.task, size, preset, seed, **typed)
    if args.print_config:
        sections = run_config(network_config(cfg, overrides), cfg, runtime)
        sys.stdout.write(config_json(sections))
        return 0
    run(cfg, out, resume=command.resume, model_overrides=overrides, runtime=runtime)
    return 0


def _resumed(out, task: str, size, typed: dict, overrides: dict):
    """The saved config of the run in ``out``, with the runtime-only options that were typed;
    any other typed option must equal the saved one."""
    from models.train import RUNTIME_KEYS, read_run_config

    if not (out / "last.ckpt").is_file():
        raise UnmaskError(f"{out / 'last.ckpt'}: not found; nothing to resume")
    cfg, model_dict = read_run_config(out)
    saved = cfg.to_dict()
    for k, v in overrides.items():
        if v != model_dict.get(k):
            raise UnmaskError(f"--{k.replace('_', '-')} {v} differs from the run in {out}")
    wanted = {"task": task, "size": size, **typed}
    for k, v in wanted.items():
        if v is None:
            continue
        if k in RUNTIME_KEYS:
            setattr(cfg, k, v)
        elif saved.get(k) != v:
            raise UnmaskError(
                f"--{k.replace('_', '-')} {v} differs from the run in {out} "
                f"({saved.get(k)}); resume with the same options"
            )
    return cfg

