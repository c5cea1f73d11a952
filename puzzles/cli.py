"""Subcommands owned by the puzzles package: ``unmask generate TASK`` and ``unmask validate``.

Both are built from the task registry (``puzzles.task``): each family adds its own generator
flags (``Task.add_generate_args``), reads and writes its own text format and checks answers
with its own validator.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from puzzles.argtypes import nonneg_int, positive_int
from puzzles.atomic import check_outputs, write_files
from puzzles.datasets import Dataset, load_dataset, parse_split_spec, read_answers, solutions_path
from puzzles.errors import UnmaskError

_SPLIT_HELP = (
    "split the unique puzzles into named parts, e.g. train=0.9,val=0.05,test=0.05 (fractions add "
    "up to 1). Identical puzzles are kept once, so no puzzle is in two parts. Writes one file "
    "per part named <stem>.<part><suffix> (out.npz -> out.train.npz, out.val.npz, ...) instead "
    "of --out itself"
)
_OUT_HELP = (
    "output file: .npz (puzzles, solutions and metadata in one compressed file) or .txt (puzzles "
    "in the text format, solutions in <stem>.solutions.txt beside it). Written atomically; the "
    "same arguments give byte-identical files"
)


def register(sub) -> None:
    """Add ``generate`` and ``validate`` to the ``unmask`` subcommands, one subcommand per task."""
    from puzzles.task import tasks

    gen = sub.add_parser(
        "generate",
        help="generate a reproducible dataset of puzzles with solutions",
        description="Generate uniquely solvable puzzles with their solutions.",
    )
    gen_sub = gen.add_subparsers(dest="task", metavar="TASK", required=True)
    for task in tasks():
        p = gen_sub.add_parser(
            task.name,
            help=(task.generate_help or f"{task.title} puzzles with their solutions"),
            description=task.generate_description or None,
        )
        task.add_generate_args(p)
        _add_common(p)
        p.set_defaults(func=_generate)

    val = sub.add_parser(
        "validate",
        help="check answers against puzzles exactly",
        description=(
            "Print a verdict per puzzle ('puzzle 3: invalid: row 2 repeats 7', numbered from 1 "
            "in file order) and a summary line 'valid K of N'. Exits 0 whatever the verdicts; "
            "exits 2 with one line on stderr when an input file is malformed or the counts differ."
        ),
    )
    val.add_argument("task", choices=[t.name for t in tasks()], help="puzzle type")
    val.add_argument(
        "--input",
        required=True,
        metavar="PUZZLES",
        help="puzzles: .npz dataset, .txt (text format; <stem>.solutions.txt beside it is used "
        "when --solutions is omitted) or .csv (Sudoku, puzzle/question column)",
    )
    val.add_argument(
        "--solutions",
        metavar="FILE",
        default=None,
        help="answers to judge, one per puzzle in the same order: .txt, .csv (solution/answer "
        "column, else the puzzle column) or .npz (its solutions). Default: the solutions stored "
        "with --input",
    )
    val.add_argument(
        "--quiet", action="store_true", help="print only failing puzzles and the summary line"
    )
    val.set_defaults(func=_validate)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--count", type=positive_int, required=True, help="number of puzzles to generate"
    )
    p.add_argument(
        "--seed",
        type=nonneg_int,
        default=0,
        help="random seed; same seed, same puzzles (default 0)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="worker processes (default: all cores); the output does not depend on it",
    )
    p.add_argument("--split", default=None, metavar="NAME=F,...", help=_SPLIT_HELP)
    p.add_argument("--out", required=True, metavar="FILE", help=_OUT_HELP)


# --- generate -----------------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("unmask")
    except PackageNotFoundError:
        return "unknown"


def _check_common(args) -> dict[str, float] | None:
    """Validate the flags shared by every generator before any work; returns the split."""
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".npz", ".txt"):
        raise UnmaskError(f"--out {args.out}: unknown suffix {suffix!r} (use .npz or .txt)")
    return parse_split_spec(args.split) if args.split is not None else None


def _summary(extra: dict[str, np.ndarray]) -> dict:
    """Small JSON summary of per-puzzle arrays (mean/min/max, share true, counts of labels)."""
    out: dict = {}
    for key, arr in extra.items():
        if arr.dtype == bool:
            out[key] = {"share_true": round(float(arr.mean()), 6)}
        elif np.issubdtype(arr.dtype, np.number):
            out[key] = {
                "mean": round(float(arr.mean()), 6),
                "min": round(arr.min().item(), 6),
                "max": round(arr.max().item(), 6),
            }
        else:
            labels, counts = np.unique(arr, return_counts=True)
            out[key] = {str(k): int(c) for k, c in zip(labels, counts, strict=True)}
    return out


def _part_path(out: Path, name: str | None) -> Path:
    return out if name is None else out.with_name(f"{out.stem}.{name}{out.suffix}")


def _output_paths(out: Path, split: dict[str, float] | None) -> dict[str, Path]:
    """Every file the command may write, by what to call it in messages."""
    paths = {}
    for name in [None] if split is None else list(split):
        path = _part_path(out, name)
        paths[f"--out ({name})" if name else "--out"] = path
        if path.suffix.lower() == ".txt":
            paths[f"--out ({name or 'solutions'}, solutions)"] = solutions_path(path)
    return paths


def _write(args, ds: Dataset, split: dict[str, float] | None) -> int:
    """Save the dataset (or its parts) all-or-nothing and say what was written."""
    from puzzles.datasets import dataset_files, split_dataset

    out = Path(args.out)
    if split is None:
        targets = {None: ds}
    else:
        targets = split_dataset(ds, split, args.seed)
        for name, part in targets.items():
            if len(part) == 0:
                raise UnmaskError(
                    f"--split: part {name!r} would get none of the {len(ds)} puzzles; "
                    "raise --count or its fraction"
                )
    files: dict[Path, bytes] = {}
    lines = []
    for name, part in targets.items():
        part.meta["difficulty"] = _summary(part.extra)  # of this part, not the whole run
        written = dataset_files(_part_path(out, name), part)
        files.update(written)
        what = f"{len(part)} {ds.task} puzzles" + (f" ({name})" if name is not None else "")
        lines.append(f"wrote {what}: {' and '.join(str(p) for p in written)}")
    write_files(files)
    print("\n".join(lines))
    if split is not None:
        dups = next(iter(targets.values())).meta["split"]["duplicates_removed"]
        if dups:
            print(f"dropped {dups} duplicate puzzle(s) before splitting")
    return 0


def _generate(args) -> int:
    from puzzles.task import check_memory, generate_many, get_task

    split = _check_common(args)
    check_outputs(_output_paths(Path(args.out), split))
    task = get_task(args.task)
    spec, options = task.generate_options(args)
    check_memory(task, spec, args.count, f"generate {task.name}")
    try:
        puzzles, solutions, extra = generate_many(
            task, spec, args.count, args.seed, workers=args.workers, progress=True, **options
        )
    except ValueError as err:
        raise UnmaskError(f"generate {task.name}: {err}") from None
    meta = {
        "task": task.name,
        "size": spec.size,
        "seed": args.seed,
        "count": args.count,
        "version": _version(),
        "generator": task.generator_meta(spec, options),
    }
    return _write(args, Dataset(task.name, puzzles, solutions, meta, extra), split)


# --- validate -----------------------------------------------------------------------------------


def _validate(args) -> int:
    ds = load_dataset(args.input, task=args.task)
    if args.solutions is not None:
        answers = read_answers(args.solutions, args.task)
        source = args.solutions
    elif ds.solutions is not None:
        answers, source = ds.solutions, args.input
    else:
        raise UnmaskError(f"{args.input}: holds no solutions; pass --solutions FILE")
    if len(answers) != len(ds):
        raise UnmaskError(
            f"{source}: {len(answers)} answers for the {len(ds)} puzzles in {args.input}"
        )
    if answers.shape[1:] != ds.puzzles.shape[1:]:
        raise UnmaskError(
            f"{source}: answers are {answers.shape[1]}x{answers.shape[2]} but the puzzles in "
            f"{args.input} are {ds.puzzles.shape[1]}x{ds.puzzles.shape[2]}"
        )
    from tqdm import tqdm

    check_answer = ds.family.check_answer

    lines = []
    valid = 0
    pairs = zip(ds.puzzles, answers, strict=True)
    # The bar shows only on a terminal, so piped output and errors stay clean.
    for i, (puzzle, answer) in enumerate(
        tqdm(pairs, total=len(ds), desc="validate", file=sys.stderr, disable=None, leave=False),
        start=1,
    ):
        reason = check_answer(puzzle, answer)
        if reason is None:
            valid += 1
            if not args.quiet:
                lines.append(f"puzzle {i}: valid")
        else:
            lines.append(f"puzzle {i}: invalid: {reason}")
    lines.append(f"valid {valid} of {len(ds)}")
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `unmask validate ... | head`: quiet exit, as the docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
