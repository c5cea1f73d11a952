"""Copy the first N puzzles of every benchmark set into another folder, under the same names.

The GPU scripts' toy mode (``TOY=1 bash scripts/gpu_bench.sh OUT``) points the README bench
scripts at such a folder, so their real commands run on a CPU in seconds:

    python scripts/subset_sets.py benchmarks/data OUT/toy_data 8

An npz keeps every array whose first axis is the puzzle count, cut to N (``meta`` and other
arrays as they are); a text file keeps its comment lines and its first N puzzle lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def subset_npz(src: Path, dst: Path, n: int) -> None:
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}  # each member read (decompressed) once
    count = len(arrays["puzzles"])
    arrays = {k: (a[:n] if a.ndim and len(a) == count else a) for k, a in arrays.items()}
    with open(dst, "wb") as f:
        np.savez_compressed(f, **arrays)


def subset_text(src: Path, dst: Path, n: int) -> None:
    kept, puzzles = [], 0
    for line in src.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            kept.append(line)
        elif puzzles < n:
            kept.append(line)
            puzzles += 1
    dst.write_text("\n".join(kept) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="folder of benchmark sets (.npz and .txt)")
    ap.add_argument(
        "dst", type=Path, help="folder to write (made if missing; must differ from src)"
    )
    ap.add_argument("n", type=int, help="puzzles to keep per set")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"n: must be at least 1, got {args.n}")
    if not args.src.is_dir():
        ap.error(f"src: {args.src} is not a folder")
    args.dst.mkdir(parents=True, exist_ok=True)
    if args.dst.resolve() == args.src.resolve():
        ap.error("dst: must not be src (the sets would be cut in place)")
    for src in sorted(args.src.iterdir()):
        dst = args.dst / src.name
        if src.suffix == ".npz":
            subset_npz(src, dst, args.n)
        elif src.suffix == ".txt":
            subset_text(src, dst, args.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
