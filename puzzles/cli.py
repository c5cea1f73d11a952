"""Subcommands owned by the puzzles package: ``unmask generate`` and ``unmask validate``."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

from puzzles.datasets import Dataset, load_dataset, parse_split_spec, read_answers, save_dataset
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
    """Add ``generate`` and ``validate`` to the ``unmask`` subcommands."""
    gen = sub.add_parser(
        "generate",
        help="generate a reproducible dataset of puzzles with solutions",
        description="Generate uniquely solvable Sudoku or mazes with their solutions.",
    )
    gen_sub = gen.add_subparsers(dest="task", metavar="TASK", required=True)

    sud = gen_sub.add_parser(
        "sudoku",
        help="Sudoku puzzles with a unique solution",
        description=(
            "Random complete grids, then clue removal that keeps the solution unique (minimal "
            "puzzles unless --clues). Stores each puzzle's difficulty in .npz files."
        ),
    )
    sud.add_argument(
        "--size", type=int, default=9, choices=(4, 9, 16), help="grid side (default 9)"
    )
    sud.add_argument(
        "--clues",
        type=int,
        default=None,
        help="stop removing clues at this many givens (default: remove until minimal)",
    )
    _add_common(sud)
    sud.set_defaults(func=_generate_sudoku)

    maze = gen_sub.add_parser(
        "maze",
        help="mazes with a shortest-path solution",
        description=(
            "Perfect mazes from a spanning-tree generator, optionally with extra openings so "
            "that several shortest paths exist; start and goal are random distinct cells and "
            "the solution marks one shortest path."
        ),
    )
    maze.add_argument(
        "--cells",
        type=int,
        default=10,
        help="cells per side h; the grid is (2h+1) x (2h+1) characters (default 10)",
    )
    maze.add_argument(
        "--algorithm",
        default="dfs",
        choices=("dfs", "wilson", "kruskal", "prim", "mix"),
        help="maze generator: recursive backtracker (dfs), uniform spanning tree (wilson), "
        "kruskal, prim, or mix (a different one per maze) (default dfs)",
    )
    maze.add_argument(
        "--extra-openings",
        type=float,
        default=0.0,
        metavar="F",
        help="fraction 0..1 of remaining inner walls to open, creating loops and several "
        "shortest paths (default 0: a perfect maze)",
    )
    maze.add_argument(
        "--min-path",
        type=int,
        default=0,
        metavar="L",
        help="redraw start and goal until the shortest path is at least L steps (default 0)",
    )
    _add_common(maze)
    maze.set_defaults(func=_generate_maze)

    val = sub.add_parser(
        "validate",
        help="check answers against puzzles exactly",
        description=(
            "Print a verdict per puzzle ('puzzle 3: invalid: row 2 repeats 7', numbered from 1 "
            "in file order) and a summary line 'valid K of N'. Exits 0 whatever the verdicts; "
            "exits 2 with one line on stderr when an input file is malformed or the counts differ."
        ),
    )
    val.add_argument("task", choices=("sudoku", "maze"), help="puzzle type")
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
    p.add_argument("--count", type=int, required=True, help="number of puzzles to generate")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed; same seed, same puzzles (default 0)"
    )
    p.add_argument(
        "--workers",
        type=int,
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
    """Validate the flags shared by both generators before any work; returns the split."""
    if args.count < 1:
        raise UnmaskError(f"--count must be at least 1, got {args.count}")
    if args.workers is not None and args.workers < 1:
        raise UnmaskError(f"--workers must be at least 1, got {args.workers}")
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".npz", ".txt"):
        raise UnmaskError(f"--out {args.out}: unknown suffix {suffix!r} (use .npz or .txt)")
    if Path(args.out).is_dir():
        raise UnmaskError(f"--out {args.out} is a directory")
    return parse_split_spec(args.split) if args.split is not None else None


def _records_to_arrays(records: list[dict], prefix: str = "") -> dict[str, np.ndarray]:
    """A list of per-puzzle dicts -> one array per key (strings stay strings)."""
    if not records:
        return {}
    out = {}
    for key in records[0]:
        arr = np.asarray([r[key] for r in records])
        out[prefix + key] = arr.astype(str) if arr.dtype == object else arr
    return out


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


def _write(args, ds: Dataset, split: dict[str, float] | None) -> int:
    """Save the dataset (or its parts) and say what was written, one line per file set."""
    from puzzles.datasets import split_dataset

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
    for name, part in targets.items():
        part.meta["difficulty"] = _summary(part.extra)  # of this part, not the whole run
        path = out if name is None else out.with_name(f"{out.stem}.{name}{out.suffix}")
        written = save_dataset(path, part)
        what = f"{len(part)} {ds.task} puzzles"
        if name is not None:
            what += f" ({name})"
        files = " and ".join(str(p) for p in written)
        print(f"wrote {what}: {files}")
    if split is not None:
        dups = next(iter(targets.values())).meta["split"]["duplicates_removed"]
        if dups:
            print(f"dropped {dups} duplicate puzzle(s) before splitting")
    return 0


def _generate_sudoku(args) -> int:
    split = _check_common(args)
    n = args.size
    box = {4: 2, 9: 3, 16: 4}[n]
    if args.clues is not None and not 0 <= args.clues <= n * n:
        raise UnmaskError(f"--clues must lie in 0..{n * n} for a {n}x{n} Sudoku, got {args.clues}")
    from puzzles import sudoku

    try:
        puzzles, solutions, difficulties = sudoku.generate_many(
            args.count, args.seed, box=box, clues=args.clues, workers=args.workers, progress=True
        )
    except ValueError as err:
        raise UnmaskError(f"generate sudoku: {err}") from None
    extra = _records_to_arrays([dataclasses.asdict(d) for d in difficulties], "difficulty_")
    meta = {
        "task": "sudoku",
        "size": n,
        "seed": args.seed,
        "count": args.count,
        "version": _version(),
        "generator": {
            "name": "puzzles.sudoku.generate_many",
            "box": box,
            "clues": args.clues if args.clues is not None else "minimal",
        },
    }
    return _write(args, Dataset("sudoku", puzzles, solutions, meta, extra), split)


def _generate_maze(args) -> int:
    split = _check_common(args)
    if args.cells < 2:
        raise UnmaskError(f"--cells must be at least 2, got {args.cells}")
    if not 0.0 <= args.extra_openings <= 1.0:
        raise UnmaskError(f"--extra-openings must lie in 0..1, got {args.extra_openings}")
    if args.min_path < 0:
        raise UnmaskError(f"--min-path must be at least 0, got {args.min_path}")
    from puzzles import maze

    try:
        puzzles, solutions, per_maze = maze.generate_many(
            args.count,
            args.seed,
            args.cells,
            algorithm=args.algorithm,
            extra_openings=args.extra_openings,
            min_path=args.min_path,
            workers=args.workers,
            progress=True,
        )
    except ValueError as err:
        raise UnmaskError(f"generate maze: {err}") from None
    extra = _records_to_arrays(list(per_maze))
    meta = {
        "task": "maze",
        "size": args.cells,
        "seed": args.seed,
        "count": args.count,
        "version": _version(),
        "generator": {
            "name": "puzzles.maze.generate_many",
            "algorithm": args.algorithm,
            "extra_openings": args.extra_openings,
            "min_path": args.min_path,
        },
    }
    return _write(args, Dataset("maze", puzzles, solutions, meta, extra), split)


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
    if args.task == "sudoku":
        from puzzles.sudoku import check_answer
    else:
        from puzzles.maze import check_answer
    from tqdm import tqdm

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
