"""Subcommands owned by the puzzles package: ``unmask generate TASK`` and ``unmask validate``.

Both are built from the task registry (``puzzles.task``): each family's generator options are
declared once (``Task.Options``) and become its flags; it reads and writes its own text format
and checks answers with its own validator. The options every family shares are declared here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from puzzles.argtypes import positive_int, seed_int
from puzzles.atomic import check_outputs, write_files
from puzzles.datasets import Dataset, load_dataset, parse_split_spec, read_answers, solutions_path
from puzzles.errors import UnmaskError
from puzzles.options import add_command, build, given, option


@dataclass(frozen=True, kw_only=True)
class GenerateRun:
    """The options ``unmask generate`` has for every family (the family adds its own)."""

    count: int = option(help="number of puzzles to generate", type=positive_int, required=True)
    seed: int = option(0, help="random seed; same seed, same puzzles", type=seed_int)
    workers: int | None = option(
        None, help="worker processes; the output does not depend on it", type=positive_int,
        shown="all cores",
    )  # fmt: skip
    split: str | None = option(
        None, metavar="NAME=F,...", shown=None,
        help="split the unique puzzles into named parts, e.g. train=0.9,val=0.05,test=0.05 "
        "(fractions add up to 1). Identical puzzles are kept once, so no puzzle is in two "
        "parts. Writes one file per part named <stem>.<part><suffix> (out.npz -> out.train.npz, "
        "out.val.npz, ...) instead of --out itself",
    )  # fmt: skip
    out: str = option(
        metavar="FILE", required=True,
        help="output file: .npz (puzzles, solutions and metadata in one compressed file) or .txt "
        "(puzzles in the text format, solutions in <stem>.solutions.txt beside it). Written "
        "atomically; the same arguments give byte-identical files",
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class ValidateRun:
    """The options of ``unmask validate``."""

    task: str = option(help="puzzle type", flag=None, choices=lambda: _task_names())
    input: str = option(
        metavar="PUZZLES", required=True,
        help="puzzles: .npz dataset, .txt (text format; <stem>.solutions.txt beside it is used "
        "when --solutions is omitted) or .csv (Sudoku, puzzle/question column)",
    )  # fmt: skip
    solutions: str | None = option(
        None, metavar="FILE", shown="the solutions stored with --input",
        help="answers to judge, one per puzzle in the same order: .txt, .csv (solution/answer "
        "column, else the puzzle column) or .npz (its solutions)",
    )  # fmt: skip
    quiet: bool = option(False, help="print only failing puzzles and the summary line")


def _task_names() -> tuple[str, ...]:
    from puzzles.task import task_names

    return task_names()


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
        options = task.options()
        about = " ".join((options.__doc__ or "").split()) if task.Options is not None else ""
        title = f"{task.title or task.name} options"
        add_command(
            gen_sub, task.name, func=_generate, flags=[(title, options, {}), GenerateRun],
            help=about.split(". ")[0].rstrip(".") or f"{task.title} puzzles with their solutions",
            description=about or None,
        )  # fmt: skip
    add_command(
        sub, "validate", func=_validate, flags=[ValidateRun],
        help="check answers against puzzles exactly",
        description="Print a verdict per puzzle ('puzzle 3: invalid: row 2 repeats 7', numbered "
        "from 1 in file order) and a summary line 'valid K of N'. Exits 0 whatever the verdicts; "
        "exits 2 with one line on stderr when an input file is malformed or the counts differ.",
    )  # fmt: skip


# --- generate -----------------------------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("unmask")
    except PackageNotFoundError:
        return "unknown"


def _check_common(run: GenerateRun) -> dict[str, float] | None:
    """Validate the flags shared by every generator before any work; returns the split."""
    suffix = Path(run.out).suffix.lower()
    if suffix not in (".npz", ".txt"):
        raise UnmaskError(f"--out {run.out}: unknown suffix {suffix!r} (use .npz or .txt)")
    return parse_split_spec(run.split) if run.split is not None else None


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


def _write(run: GenerateRun, ds: Dataset, split: dict[str, float] | None) -> int:
    """Save the dataset (or its parts) all-or-nothing and say what was written."""
    from puzzles.datasets import dataset_files, split_dataset

    out = Path(run.out)
    if split is None:
        targets = {None: ds}
    else:
        targets = split_dataset(ds, split, run.seed)
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
    from puzzles.generate import check_memory, generate_many
    from puzzles.task import get_task

    task = get_task(args.task)
    run = build(GenerateRun, given(args, GenerateRun))
    split = _check_common(run)
    check_outputs(_output_paths(Path(run.out), split))
    options = build(task.options(), given(args, task.options()))
    try:
        spec, kwargs = task.split_options(options)
    except ValueError as err:
        raise UnmaskError(f"--{task.size_option}: {err}") from None
    check_memory(task, spec, run.count, f"generate {task.name}")
    try:
        puzzles, solutions, extra = generate_many(
            task, spec, run.count, run.seed, workers=run.workers, progress=True, **kwargs
        )
    except ValueError as err:
        raise UnmaskError(f"generate {task.name}: {err}") from None
    meta = {
        "task": task.name,
        "size": spec.size,
        "seed": run.seed,
        "count": run.count,
        "version": _version(),
        "generator": task.generator_meta(spec, kwargs),
    }
    return _write(run, Dataset(task.name, puzzles, solutions, meta, extra), split)


# --- validate -----------------------------------------------------------------------------------


def _validate(args) -> int:
    args = build(ValidateRun, given(args, ValidateRun))
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
