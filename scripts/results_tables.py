"""Print the README's search tables from the JSON files of ``scripts/bench_search.sh``, or with
``--hard`` the table of ``scripts/bench_hard.sh`` (issue 23).

    python scripts/results_tables.py [--hard] [RESULTS_DIR]      (default docs/results)

Every number comes from a bench file; the table names the files, the machine and the dtype that
wrote them (one machine per table: a table whose files disagree on the machine is refused).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sampling.bench import percent, rules_alone


def rows(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def label(r: dict, tag: str = "") -> str:
    """'EB + backtrack 0.02 + constrain': the sampler, the search with its branch entropy, the rules."""
    text = r["sampler"].replace("eb:gamma=0.01", "EB").replace("+", " + ")
    search = r.get("search") or {}
    if search.get("mode") == "backtrack":
        text = text.replace("backtrack", f"backtrack {search['branch_entropy']:g}")
    return text + tag


def pct(r: dict) -> str:
    return f"{percent(r['solved'], r['n'])} ({r['solved']}/{r['n']}{rules_alone(r)})"


def nfe(r: dict) -> str:
    return f"{r['mean_nfe']:.2f} / {r['median_nfe']:g} / {r['p90_nfe']:g} / {r['max_nfe']}"


def machine(files: list[Path]) -> str:
    seen = {(r.get("machine"), r.get("dtype")) for f in files for r in rows(f)}
    if len(seen) != 1:
        raise SystemExit(f"files from several machines: {seen}")
    ((name, dtype),) = seen
    return f"{name}, {dtype}"


def sudoku_table(d: Path) -> str:
    out = []
    files = []
    for name, title in (("sudoku9_heldout", "held-out minimal 9x9"),
                        ("sudoku17_2000", "17-clue")):  # fmt: skip
        plain, con = d / f"search_{name}.json", d / f"search_{name}_constrain.json"
        prop, rem = d / f"search_{name}_propagate.json", d / f"search_{name}_remask.json"
        files += [f for f in (plain, con, prop, rem) if f.exists()]
        by = {}
        for f, tag in ((plain, ""), (con, " + constrain"), (prop, " + propagate"), (rem, "")):
            if f.exists():
                for r in rows(f):
                    by[(label(r, tag), r["n"])] = r
        for (name, _n), r in sorted(by.items(), key=lambda kv: (kv[0][1] != 2000, kv[0][0])):
            loop = "yes" if r.get("validator_in_loop") else "no (the model alone)"
            out.append(f"| {title} | `{name}` | {loop} | {pct(r)} | {nfe(r)} |")
    head = [
        f"Machine: {machine(files)}. Files: " + ", ".join(f"`{f.name}`" for f in files) + ".",
        "",
        "| set | sampler | rules in the loop | solved | NFE mean / median / p90 / max |",
        "|---|---|---|---|---|",
    ]
    return "\n".join(head + out)


def maze_table(d: Path) -> str:
    sets = ("dfs", "wilson", "kruskal", "prim", "open")
    files, cells = [], {}
    for s in sets:
        for suffix in ("", "_constrain", "_propagate", "_remask", "_constrain_remask"):
            f = d / f"search_maze10_{s}{suffix}.json"
            if not f.exists():
                continue
            files.append(f)
            for r in rows(f):
                tag = " + propagate" if r.get("propagate") else ""
                tag = tag or (" + constrain" if r.get("constrain") else "")
                key = (label(r, tag), r["n"])
                cells.setdefault(key, {})[s] = (
                    f"{percent(r['solved'], r['n'])} ({r['mean_nfe']:.1f}{rules_alone(r)})"
                )
    # the branch-entropy sweeps (benchmarks/search_sweep.py), same machine, same mazes
    for s in sets:
        for suffix in ("", "_propagate"):
            f = d / f"search_sweep_maze10_{s}{suffix}.json"
            if not f.exists():
                continue
            report = rows(f)
            tag = " + propagate" if report.get("propagate") else ""
            for r in report["rows"]:
                name = f"EB + backtrack {r['branch_entropy']:g}{tag} (sweep)"
                cells.setdefault((name, r["n"]), {})[s] = (
                    f"{percent(r['solved'], r['n'])} ({r['mean_nfe']:.1f})"
                )
    head = [
        f"Machine: {machine(files)}. Files: `search_maze10_*.json` and, for the rows marked "
        "sweep, `search_sweep_maze10_*.json` (same machine). Accuracy (mean NFE); "
        "n = mazes per set (the first n of each set).",
        "",
        "| sampler | n | "
        + " | ".join(("DFS", "Wilson", "Kruskal", "Prim", "DFS + openings"))
        + " |",
        "|---|---|" + "---|" * len(sets),
    ]
    body = [
        f"| `{name}` | {n} | " + " | ".join(c.get(s, "-") for s in sets) + " |"
        for (name, n), c in sorted(cells.items(), key=lambda kv: (-kv[0][1], kv[0][0]))
    ]
    return "\n".join(head + body)


HARD_SETS = (
    ("sudoku9_heldout", "held-out minimal 9x9"),
    ("sudoku9_hard20", "hard20: minimal, >= 20 plain MRV guesses"),
    ("sudoku9_hard100", "hard100: minimal, >= 100 plain MRV guesses"),
    ("sudoku17_2000", "17-clue"),
    ("maze10_dfs", "10x10 DFS mazes"),
    ("maze10_open", "10x10 DFS + openings"),
    ("maze10_wilson", "10x10 Wilson"),
    ("maze10_kruskal", "10x10 Kruskal"),
    ("maze10_prim", "10x10 Prim"),
)


def hard_table(d: Path) -> str:
    """One row per set and way of solving: the model alone, with backtracking, with
    --propagate and backtracking (``hard_*.json``)."""
    out, files = [], []
    for name, title in HARD_SETS:
        for f in (d / f"hard_{name}.json", d / f"hard_{name}_propagate.json"):
            if not f.exists():
                continue
            files.append(f)
            for r in rows(f):
                tag = " + propagate" if r.get("propagate") else ""
                loop = "yes" if r.get("validator_in_loop") else "no (the model alone)"
                budget = (r.get("search") or {}).get("max_nfe")
                back = f"{r['mean_backtracks']:.1f}" if r.get("search") else "-"
                out.append(f"| {title} | `{label(r, tag)}` | {loop} | {pct(r)} | {nfe(r)} | "
                           f"{back} | {budget or '-'} |")  # fmt: skip
    head = [
        f"Machine: {machine(files)}. Files: `hard_*.json` (first n of each set).",
        "",
        "| set | sampler | rules in the loop | solved | NFE mean / median / p90 / max "
        "| backtracks (mean) | budget |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + out)


def main() -> int:
    args = sys.argv[1:]
    hard = "--hard" in args
    args = [a for a in args if a != "--hard"]
    d = Path(args[0] if args else "docs/results")
    if hard:
        print(hard_table(d))
        return 0
    print(sudoku_table(d))
    print()
    print(maze_table(d))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
