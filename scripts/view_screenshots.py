"""The README's screenshots of `unmask view` and `unmask report`, from the shipped models.

    python scripts/view_screenshots.py [OUTDIR]      (default OUTDIR: docs/; CPU, about a minute)

Writes OUTDIR/view_sudoku.png (a Sudoku view: EB's run at pass 3, a cell of that pass hovered),
OUTDIR/view_maze.png (a maze view: EB at its third pass) and OUTDIR/report.png (the report of
docs/results/bench_sudoku9_heldout.json and search_sudoku9_heldout.json, the search row's chart
point hovered); the pages themselves go to a temporary folder. Needs Chromium and playwright (see viz/browser.py).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import unmask_cli  # noqa: E402
from viz.browser import missing, screenshot  # noqa: E402


def unmask(*argv) -> None:
    print("unmask", " ".join(map(str, argv)), flush=True)
    if unmask_cli.main([str(a) for a in argv]) != 0:
        raise SystemExit(f"unmask {argv[0]} failed")


def payload(page: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="unmask-payload">(.*?)</script>', text, re.S)
    return json.loads(m.group(1))


def main(argv: list[str]) -> int:
    why = missing()
    if why:
        print(f"view_screenshots: {why}", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else ROOT / "docs"
    data = ROOT / "benchmarks" / "data"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sudoku, maze, report = tmp / "sudoku.html", tmp / "maze.html", tmp / "report.html"
        unmask("view", "sudoku", "--input", data / "sudoku9_heldout.npz", "--index", 0, 1, 2, 3,
               "--compare", "topk:k=1", "eb:gamma=0.01", "threshold:tau=0.9", "--quiet",
               "--out", sudoku)  # fmt: skip
        unmask("view", "maze", "--input", data / "maze10_dfs_heldout.npz", "--index", 1,
               "--sampler", "eb", "--gamma", "0.01", "--quiet", "--out", maze)  # fmt: skip
        results = ROOT / "docs" / "results"
        unmask("report", results / "bench_sudoku9_heldout.json",
               results / "search_sudoku9_heldout.json", "--checkpoint",
               ROOT / "models" / "shipped" / "sudoku9.pt", "--scan", "8", "--per-sampler", "1",
               "--quiet", "--out", report)  # fmt: skip
        # the Sudoku view: EB (run 1) after pass 3, hovering the first cell that pass revealed
        ev = payload(sudoku)["puzzles"][0]["runs"][1]["events"][2]
        cell = ev["set"][0][0]
        screenshot(sudoku, out / "view_sudoku.png", clicks=['.run-tab[data-run="1"]'],
                   keys=["ArrowRight"] * 3, hover=f'.board [data-cell="{cell}"]', height=760)  # fmt: skip
        ev = payload(maze)["puzzles"][0]["runs"][0]["events"][2]
        path = next((c for c, t in ev["set"] if t == 1), ev["set"][0][0])  # a path cell
        screenshot(maze, out / "view_maze.png", keys=["ArrowRight"] * 3,
                   hover=f'.board [data-cell="{path}"]', height=760)  # fmt: skip
        screenshot(report, out / "report.png", hover='#bench-chart .point[data-sampler='
                   '"eb:gamma=0.01+backtrack"] circle')  # fmt: skip
    for name in ("view_sudoku.png", "view_maze.png", "report.png"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
