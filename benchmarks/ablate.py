"""CPU-scale ablations of the training recipe: every variant trained on the same data with the
same seeds for the same number of steps, scored on the same held-out puzzles.

    python benchmarks/ablate.py sudoku --size 9 --steps 1500 --seeds 0 \\
        --md docs/results/ablation_sudoku9.md --json docs/results/ablation_sudoku9.json

The training set is generated once (seed 31; a variant that changes the data, such as the mix
of maze generators, gets its own set of the same size from the same seed) and the held-out sets
separately (seeds 9301 and 9302), checked disjoint up to symmetry (``Task.symmetry_key``) from
every training set of the run. Each variant changes one thing from ``base`` (the tiny preset as
``unmask train`` sets it up) and is scored by greedy top-1 and by the EB-Sampler (gamma 0.01) on
the held-out puzzles, with the model alone (no search); by greedy top-1 on a second held-out set
(Sudoku: easier puzzles with 36 clues; mazes: DFS mazes with 10% of inner walls opened, several
shortest paths); and by the cross-entropy on randomly masked held-out solutions (low noise).
Rows are printed as they finish; failures (a variant that errors) are kept in the table too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from _report import machine_info, write_json

from models.config import Runtime
from models.train import default_config, run
from puzzles.datasets import Dataset, save_dataset
from puzzles.generate import generate_many
from puzzles.task import get_task
from sampling.options import SolveOptions
from sampling.samplers import EBSampler, TopKSampler
from sampling.solve import load_for, solve_puzzles

# name -> (training options, model overrides, what it tests)
SUDOKU_VARIANTS = {
    "base": ({}, {}, "tiny preset (4 x 64), row+column embeddings, half the rows clue-masked"),
    "box-embedding": ({}, {"block": 3}, "add a learned 3x3-box embedding"),
    "deeper": ({}, {"n_layers": 8, "d_model": 48, "d_ff": 192}, "8 x 48 at about equal size"),
    "wider": (
        {},
        {"n_layers": 2, "d_model": 96, "n_heads": 4, "d_ff": 384},
        "2 x 96 at about equal size",
    ),
    "tied-x2": ({}, {"n_loops": 2}, "the 4 blocks applied twice (weight-tied, 2x compute)"),
    "tied-x3": ({}, {"n_loops": 3}, "applied three times"),
    "elbo": ({"elbo_weight": True}, {}, "ELBO weighting 1/t of each row's loss"),
    "random-masks": ({"clue_mask_prob": 0.0}, {}, "random masks only"),
    "clue-masks": ({"clue_mask_prob": 1.0}, {}, "clue-shaped masks only"),
    "fresh-grids": ({"fresh_grids": 0.5}, {}, "half the rows over new random grids each step"),
    "lr-3e-3": ({"lr": 3e-3}, {}, "peak learning rate 3e-3 (base 1e-3)"),
    "lr-3e-4": ({"lr": 3e-4}, {}, "peak learning rate 3e-4"),
    "constant-lr": ({"min_lr_ratio": 1.0}, {}, "no cosine decay after warm-up"),
    "box+wider": (
        {},
        {"block": 3, "n_layers": 2, "d_model": 96, "n_heads": 4, "d_ff": 384},
        "box embedding and 2 x 96",
    ),
    "box+constant-lr": ({"min_lr_ratio": 1.0}, {"block": 3}, "box embedding, no cosine decay"),
}
# Training options under "data" are not passed to training: they pick the generator options of
# the variant's own training set (a list: equal shares made with each).
MIX = {"algorithm": "mix"}
MAZE_VARIANTS = {
    "base": ({}, {}, "tiny preset, rope2d, DFS mazes, 8 symmetries"),
    "rowcol": ({}, {"pos": "rowcol"}, "row+column embeddings instead of rotary positions"),
    "mix-generators": ({"data": [MIX]}, {}, "DFS, Wilson, Kruskal, Prim in turn"),
    "mix+openings": (
        {"data": [MIX, {"algorithm": "dfs", "extra_openings": 0.1}]},
        {},
        "half the four generators, half DFS with 10% of inner walls opened",
    ),
    # (No clue-mask variant: a maze's blanks are exactly its open cells, so the two masks agree.)
    "no-augment": ({"augment": False}, {}, "no rotations or reflections"),
    "elbo": ({"elbo_weight": True}, {}, "ELBO weighting"),
    "lr-3e-3": ({"lr": 3e-3}, {}, "peak learning rate 3e-3 (base 1e-3)"),
    "tied-x2": ({}, {"n_loops": 2}, "weight-tied blocks applied twice"),
}


VARIANTS = {"sudoku": SUDOKU_VARIANTS, "maze": MAZE_VARIANTS}


def _dataset(task, spec, count, seed, options) -> Dataset:
    puzzles, solutions, _ = generate_many(task, spec, count, seed, progress=False, **options)
    return Dataset(task.name, puzzles, solutions)


def _data_key(given: dict, default: dict) -> str:
    """The variant's training-data recipe as a canonical JSON string (its cache key)."""
    return json.dumps(given.get("data", [default]), sort_keys=True)


def _training_set(task, spec, count: int, key: str) -> Dataset:
    """``count`` puzzles in equal shares over the recipe's generator options, all from seed
    31 (share i from seed 31 + i)."""
    recipe = json.loads(key)
    shares = [count // len(recipe) + (i < count % len(recipe)) for i in range(len(recipe))]
    parts = [
        _dataset(task, spec, n, 31 + i, opts)
        for i, (n, opts) in enumerate(zip(shares, recipe, strict=True))
    ]
    return Dataset(task.name, np.concatenate([p.puzzles for p in parts]),
                   np.concatenate([p.solutions for p in parts]))  # fmt: skip


def _heldout_loss(model, spec, solutions: np.ndarray) -> float:
    """Mean cross-entropy (nats) on held-out solutions, each masked at random twice at rates
    U(0.2, 0.9) over its value cells (fixed seed): a low-noise companion of the solve rate."""
    g = torch.Generator().manual_seed(0)
    target = torch.from_numpy(spec.encode_solution(np.concatenate([solutions, solutions])))
    t = 0.2 + 0.7 * torch.rand(target.shape[0], 1, generator=g)
    masked = (torch.rand(target.shape, generator=g) < t) & (target < spec.num_values)
    tokens = torch.where(masked, spec.mask_id, target)
    with torch.inference_mode():
        logits = torch.cat([model(tokens[i : i + 512]) for i in range(0, len(tokens), 512)])
    ce = torch.nn.functional.cross_entropy(logits[masked], target[masked])
    return float(ce)


def _score(loaded, spec, held: Dataset, easy: Dataset) -> dict:
    out = {"heldout_loss": _heldout_loss(loaded.model, spec, held.solutions)}
    for name, sampler in (("top1", TopKSampler(1, "confidence")), ("eb", EBSampler(0.01))):
        r = solve_puzzles(loaded.model, spec, held.puzzles,
                          SolveOptions(sampler=sampler, batch_size=512))  # fmt: skip
        out[f"{name}_accuracy"] = r.solved / r.n
        out[f"{name}_mean_nfe"] = float(r.nfe.mean())
    r = solve_puzzles(loaded.model, spec, easy.puzzles, TopKSampler(1, "confidence"))
    out["easy_top1_accuracy"] = r.solved / r.n
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("task", choices=tuple(VARIANTS))
    ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds")
    ap.add_argument("--train-size", type=int, default=20000)
    ap.add_argument("--eval-size", type=int, default=300)
    ap.add_argument("--variants", default=None, help="comma-separated subset (default: all)")
    ap.add_argument("--generator", default=None, help="maze generator of the data (default dfs)")
    ap.add_argument("--easy-clues", type=int, default=36, help="Sudoku: clues of the easy set")
    ap.add_argument("--md", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    task = get_task(args.task)
    size = args.size or (9 if args.task == "sudoku" else 5)
    spec = task.spec(size)
    table = VARIANTS[args.task]
    names = args.variants.split(",") if args.variants else list(table)
    seeds = [int(s) for s in args.seeds.split(",")]
    gen_opts = task.generator_options(args.generator)
    t0 = time.perf_counter()
    recipes = {_data_key(table[n][0], gen_opts) for n in names}
    trains = {key: _training_set(task, spec, args.train_size, key) for key in sorted(recipes)}
    train_keys = {task.symmetry_key(p) for t in trains.values() for p in t.puzzles}
    fresh = _dataset(task, spec, 3 * args.eval_size, 9301, gen_opts)
    keep = [i for i, p in enumerate(fresh.puzzles) if task.symmetry_key(p) not in train_keys]
    held = fresh.subset(np.array(keep[: args.eval_size]))
    # A second held-out set: easier Sudoku (more clues, keeps a short run's solve rate off the
    # floor); mazes with several shortest paths.
    if args.task == "sudoku":
        second, second_name = dict(gen_opts, clues=args.easy_clues), "top-1, easier puzzles"
    else:
        second, second_name = dict(gen_opts, extra_openings=0.1), "top-1, DFS + openings"
    easy = _dataset(task, spec, args.eval_size, 9302, second)
    easy = easy.subset(np.array([i for i, p in enumerate(easy.puzzles)
                                 if task.symmetry_key(p) not in train_keys]))  # fmt: skip
    print(f"data: {len(trains)} training set(s) of {args.train_size}, {len(held)} held out "
          f"(disjoint up to symmetry from all of them; {len(fresh) - len(keep)} of {len(fresh)} "
          f"candidates dropped), {len(easy)} in the second set, "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="ablate_") as tmp:
        files = {}
        for i, (key, train) in enumerate(trains.items()):
            files[key] = str(Path(tmp) / f"train{i}.npz")
            save_dataset(files[key], train)
        for name in names:
            given, overrides, what = table[name]
            data_file = files[_data_key(given, gen_opts)]
            given = {k: v for k, v in given.items() if k != "data"}
            for seed in seeds:
                row = {"variant": name, "what": what, "seed": seed, **given, **overrides}
                try:
                    options = dict(steps=args.steps, batch_size=args.batch_size,
                                   data=data_file, val_size=128,
                                   val_every=args.steps, num_workers=0) | given  # fmt: skip
                    if args.task == "maze":
                        overrides = {"pos": "rope2d"} | overrides
                    cfg = default_config(args.task, size, "tiny", seed, **options)
                    out = Path(tmp) / f"{name}_{seed}"
                    s = run(cfg, out, model_overrides=overrides, runtime=Runtime(progress=False))
                    loaded = load_for(str(out / "model.pt"), spec, "cpu", source="held-out")
                    row |= {"parameters": s["parameters"], "train_seconds": s["seconds"],
                            "val_solve_rate": s["val_solve_rate"]} | _score(loaded, spec, held,
                                                                            easy)  # fmt: skip
                except Exception as err:  # a failing variant is a result too
                    row["error"] = f"{type(err).__name__}: {err}"
                    traceback.print_exc()
                rows.append(row)
                print(json.dumps(row), flush=True)
    lines = [
        f"Ablations, {spec.describe()}, tiny preset, {args.steps} steps x {args.batch_size}, "
        f"seeds {args.seeds}; {len(held)} held-out puzzles; model alone (no search). "
        f"`python benchmarks/ablate.py {' '.join(sys.argv[1:])}`",
        "",
        "| variant | what | parameters | train s | held-out loss | top-1 | EB 0.01 (mean NFE) "
        f"| {second_name} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['variant']} | {r['what']} | - | - | failed: {r['error']} | - "
                         "| - | - |")  # fmt: skip
            continue
        lines.append(
            f"| {r['variant']} (seed {r['seed']}) | {r['what']} | {r['parameters']:,} | "
            f"{r['train_seconds']:.0f} | {r['heldout_loss']:.4f} | "
            f"{100 * r['top1_accuracy']:.1f}% | {100 * r['eb_accuracy']:.1f}% "
            f"({r['eb_mean_nfe']:.1f}) | {100 * r['easy_top1_accuracy']:.1f}% |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.md:
        from puzzles.atomic import atomic_write_text

        atomic_write_text(args.md, text)
    if args.json:
        write_json(args.json, {"rows": rows, "argv": sys.argv[1:],
                               "machine": machine_info(torch=torch.__version__,
                                                       threads=torch.get_num_threads(),
                                                       omp=os.environ.get("OMP_NUM_THREADS"))})  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
