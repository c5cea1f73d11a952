"""`unmask view` and `unmask report` without a browser: the converter from recorded events to the
page's payload (``viz.payload``) against the sampler's own record, both commands for every family
(Sudoku, mazes, and a plugin family drawn by the generic grid), the size budget on traces of the
shipped model, and bad input (one line, exit code 2, nothing written)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from models.checkpoint import load_model
from puzzles.datasets import load_dataset
from sampling.options import SolveOptions
from sampling.samplers import EBSampler, ThresholdSampler, TopKSampler
from sampling.solve import trace_puzzle
from sampling.step import Event
from unmask_cli import main
from viz import html
from viz.payload import event_payload, first_wrong, puzzle_payload, view_payload

sys.path.insert(0, str(Path(__file__).parent))
from view_payload import embedded, fold  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_thread")


def kept(events: list[Event]) -> list[Event]:
    """The events a page shows: all but backtracks that changed nothing (an exhausted search)."""
    return [e for e in events if not (e.kind == "backtrack" and e.cell is None)]


def traced(family: str, view_inputs, index: int, runs):
    path, model_path = view_inputs[family]
    ds = load_dataset(path, family)
    loaded = load_model(model_path, task=family, size=ds.size, device="cpu")
    results = trace_puzzle(loaded.model, ds.spec, ds.puzzles[index], runs, index=index,
                           record="full")  # fmt: skip
    items = [(label, opts, r, o) for (label, opts), (r, o) in zip(runs, results, strict=True)]
    puzzle = puzzle_payload(ds.spec, ds.puzzles[index], items, source=path.name, index=index,
                            solution=ds.solutions[index])  # fmt: skip
    return puzzle, [r for r, _ in results], ds.spec


RUNS = {
    "top-2 by margin": TopKSampler(2, proxy="margin"),
    "eb, propagate": (EBSampler(0.5), {"propagate": True}),
    "threshold, constrain": (ThresholdSampler(0.3), {"constrain": True}),
    "backtrack": (TopKSampler(1), {"search": "backtrack"}),
    "remask": (EBSampler(0.01), {"search": "remask"}),
    "backtrack over budget": (TopKSampler(1), {"search": "backtrack", "max_nfe": 3}),
}


def _opts(value) -> SolveOptions:
    sampler, extra = value if isinstance(value, tuple) else (value, {})
    return SolveOptions(sampler=sampler, device="cpu", **extra)


@pytest.mark.parametrize("family", ["sudoku", "maze", "latin"])
def test_the_payload_is_the_recorded_trace(view_inputs, family):
    """Every payload event folds to the board the sampler recorded after it; a pass's set, order,
    scores and top-3 are the recorded ones; a backtrack names its cell and next value."""
    runs = [(name, _opts(value)) for name, value in RUNS.items()]
    kinds = set()
    for index in (0, 1):
        puzzle, results, spec = traced(family, view_inputs, index, runs)
        html.validate_payload(view_payload([puzzle], "t"))
        for run, result, (_, opts) in zip(puzzle["runs"], results, runs, strict=True):
            events = kept(result.events[0])
            assert len(run["events"]) == len(events)
            assert run["nfe"] == int(result.nfe[0]) and run["sampler"] == opts.sampler.config()
            for k, (ev, pe) in enumerate(zip(events, run["events"], strict=True), start=1):
                kinds.add(pe["kind"])
                assert (pe["kind"], pe["nfe"]) == (ev.kind, ev.nfe)
                assert fold(puzzle["puzzle"], run["events"], k) == ev.values.tolist()
                if ev.kind == "pass":
                    cells = np.flatnonzero(ev.revealed).tolist()
                    assert [c for c, _ in pe["set"]] == cells and pe["unset"] == []
                    assert pe["order"] == ev.order.tolist()
                    assert pe["entropy"] == pytest.approx(ev.cell_entropy.tolist())
                    assert pe["confidence"] == pytest.approx(ev.confidence.tolist())
                    assert pe["proxy"] == pytest.approx(ev.proxy.tolist())
                    for i, c in enumerate(cells):
                        info = pe["info"][str(c)]
                        assert [t for t, _ in info["top"]] == ev.top_tokens[i].tolist()
                        assert [p for _, p in info["top"]] == pytest.approx(
                            ev.top_probs[i].tolist()
                        )
                        assert info["prob"] == pytest.approx(float(ev.prob[c]))
                        assert info.get("branch", False) == bool(
                            opts.search == "backtrack" and ev.branch[c]
                        )
                elif ev.kind == "backtrack":
                    assert [pe["cell"], pe["token"]] in pe["set"] and pe["token"] == ev.token
            final = [-1 if t == spec.mask_id else t for t in result.tokens[0].tolist()]
            assert run["final"] == final == fold(puzzle["puzzle"], run["events"], len(events))
            assert run["valid"] == (run["reason"] is None)
    if family == "sudoku":
        assert {"pass", "fill", "backtrack", "remask"} <= kinds


def test_first_wrong_is_the_first_mistake_in_reveal_order():
    events = [
        {"kind": "pass", "nfe": 1, "set": [[4, 1], [2, 0]], "unset": [], "order": [4, 2, 5]},
        {"kind": "pass", "nfe": 2, "set": [[5, 3]], "unset": [], "order": [5]},
    ]
    solution = [0, 0, 1, 0, 2, 3]
    final = [0, 0, 0, 0, 1, 3]
    assert first_wrong(events, final, solution) == 4  # cell 4 came before cell 2 in pass 1
    events[0]["order"] = [2, 4, 5]
    assert first_wrong(events, final, solution) == 2
    assert first_wrong(events, final, None) is None
    assert first_wrong(events, solution, solution) is None


def test_an_exhausted_backtrack_is_left_out_and_a_bare_pass_is_refused():
    L = 4
    none = np.zeros(L, dtype=bool)
    blank = dict(values=np.full(L, -1), revealed=none, retracted=none,
                 entropy=np.full(L, np.nan), prob=np.full(L, np.nan))  # fmt: skip
    assert event_payload(Event(kind="backtrack", nfe=3, **blank), search=True) is None
    with pytest.raises(ValueError, match='record="full"'):
        event_payload(Event(kind="pass", nfe=1, **blank), search=False)


# --- the commands ----------------------------------------------------------------------------


def _view(view_inputs, family, out, *extra):
    path, model = view_inputs[family]
    return ["view", family, "--input", str(path), "--checkpoint", str(model), "--device", "cpu",
            "--quiet", "--out", str(out), *map(str, extra)]  # fmt: skip


@pytest.mark.parametrize("family, renderer", [("sudoku", "sudoku"), ("maze", "maze"),
                                              ("latin", "grid")])  # fmt: skip
def test_view_writes_one_page_for_every_family(view_inputs, tmp_path, capsys, family, renderer):
    out = tmp_path / "v.html"
    argv = _view(view_inputs, family, out, "--index", 1, 0, "--compare", "topk:k=1",
                 "eb:gamma=0.5", "--search", "backtrack", "--color", "pass")  # fmt: skip
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.html"]
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "2 puzzle(s) x 2 run(s)" in printed
    payload = embedded(out)
    assert payload["color"] == "order"
    assert [p["index"] for p in payload["puzzles"]] == [1, 0]
    ds = load_dataset(view_inputs[family][0], family)
    for p in payload["puzzles"]:
        assert p["renderer"] == renderer and p["task"] == family
        assert p["solution"] == ds.spec.encode_solution(ds.solutions[p["index"]][None])[0].tolist()
        assert [r["label"] for r in p["runs"]] == ["topk:k=1+backtrack", "eb:gamma=0.5+backtrack"]
        assert all(r["search"]["mode"] == "backtrack" for r in p["runs"])
    if family == "latin":  # the generic grid writes the family's own characters
        assert payload["puzzles"][0]["symbols"] == ["1", "2", "3", "4"]


def test_view_of_the_shipped_model_fits_the_size_budget(tmp_path, capsys):
    """16 Sudoku 9x9 puzzles x 3 samplers from real traces must stay under 1.5 MB: two puzzles
    traced here (3 s), the page's fixed part (script, style sheet, head) counted once and the
    rest scaled to 16. (The 16 puzzles themselves: docs/view-format.md.)"""
    data = REPO / "benchmarks" / "data" / "sudoku9_heldout.npz"
    out = tmp_path / "v.html"
    argv = ["view", "sudoku", "--input", data, "--index", 0, 1, "--compare", "topk:k=1",
            "eb:gamma=0.01", "threshold:tau=0.9", "--device", "cpu", "--quiet", "--out", out]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    fixed = len(html.static_text("view.js").encode()) + len(html.static_text("view.css").encode())
    fixed += 2_000  # the head, the security policy, the page's own tags
    per_puzzle = (out.stat().st_size - fixed) / 2
    assert fixed + 16 * per_puzzle <= 1.5e6, (fixed, per_puzzle)
    assert per_puzzle > 20_000  # every pass's scores are in it (top-1 alone: ~56 passes)


def _bench(view_inputs, family, prefix, samplers="topk:k=1,eb:gamma=0.5", *search):
    path, model = view_inputs[family]
    argv = ["bench", family, "--input", str(path), "--checkpoint", str(model), "--device", "cpu",
            "--samplers", samplers, "--quiet", "--out", str(prefix)]  # fmt: skip
    if search:
        argv += ["--search", *search]
    assert main(argv) == 0
    return Path(f"{prefix}.json")


def test_report_embeds_failures_first_and_agrees_with_the_bench(view_inputs, tmp_path, capsys):
    bench = _bench(view_inputs, "sudoku", tmp_path / "s", "topk:k=1,eb:gamma=0.5", "none",
                   "backtrack")  # fmt: skip
    maze = _bench(view_inputs, "maze", tmp_path / "m", "eb:gamma=0.5")
    out = tmp_path / "r.html"
    rc = main(["report", str(bench), str(maze), "--out", str(out), "--per-sampler", "1",
               "--device", "cpu", "--quiet"])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "5 bench rows from 2 file(s)" in printed
    payload = embedded(out)
    rows = json.loads(bench.read_text()) + json.loads(maze.read_text())
    assert [r["sampler"] for r in payload["rows"]] == [r["sampler"] for r in rows]
    assert payload["rows"][0]["mean_nfe"] == pytest.approx(rows[0]["mean_nfe"], rel=1e-3)
    assert payload["machine"] == rows[0]["machine"]
    sudoku = [p for p in payload["puzzles"] if p["task"] == "sudoku"]
    mazes = [p for p in payload["puzzles"] if p["task"] == "maze"]
    assert (
        sudoku and mazes and len({p["id"] for p in payload["puzzles"]}) == len(payload["puzzles"])
    )
    labels = [r["sampler"] for r in rows if r["task"] == "sudoku"]
    for p in sudoku:  # every row re-run on every embedded puzzle, in the bench's order
        assert [r["label"] for r in p["runs"]] == labels
    for i, row in enumerate(r for r in rows if r["task"] == "sudoku"):
        failed = [p for p in sudoku if not p["runs"][i]["valid"]]
        # the row's failures (the bench counted n - solved of them) come first
        assert bool(failed) == (row["solved"] < row["n"]), row["sampler"]


def test_report_table_alone_needs_no_inputs(tmp_path, capsys):
    rows = json.loads((REPO / "docs" / "results" / "bench_sudoku9_heldout.json").read_text())
    rows[0]["puzzles_per_second"] = float("inf")  # no time measured: written as Infinity
    for row in rows:
        row["input"] = "/nowhere/puzzles.npz"
    bench = tmp_path / "b.json"
    bench.write_text(json.dumps(rows))
    out = tmp_path / "r.html"
    assert main(["report", str(bench), "--scan", "0", "--out", str(out), "--title", "T"]) == 0
    payload = embedded(out)
    assert payload["puzzles"] == [] and payload["title"] == "T"
    assert payload["rows"][0]["puzzles_per_second"] is None and len(payload["rows"]) == len(rows)


# --- bad input -------------------------------------------------------------------------------


def _refused(capsys, argv, needle: str, folder: Path) -> None:
    before = sorted(p.name for p in folder.iterdir())
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line]
    assert rc == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], lines[0]
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


@pytest.mark.parametrize("extra, needle", [
    (["--index", "8"], "no puzzle #8 (the file has 8, numbered from 0)"),
    (["--index", "1", "2", "1"], "--index 1 is given twice"),
    (["--index", "-1"], "--index"),
    (["--color", "red"], "--color"),
    (["--compare", "eb:gamma=-1"], "gamma"),
    (["--compare", "topk:k=1", "--gamma", "0.1"], "does not combine with --compare"),
    (["--branch-entropy", "0.1"], "--branch-entropy applies to --search backtrack"),
])  # fmt: skip
def test_view_bad_input(view_inputs, tmp_path, capsys, extra, needle):
    _refused(capsys, _view(view_inputs, "sudoku", tmp_path / "v.html", *extra), needle, tmp_path)


def test_view_outputs_that_cannot_be_pages(view_inputs, tmp_path, capsys):
    _refused(capsys, _view(view_inputs, "sudoku", tmp_path / "v.png"), "written as .html", tmp_path)
    link = tmp_path / "in.html"
    os.symlink(view_inputs["sudoku"][0], link)
    _refused(capsys, _view(view_inputs, "sudoku", link), "same file as --input", tmp_path)
    _refused(capsys, _view(view_inputs, "sudoku", tmp_path / "no" / "v.html", "--index", "9"),
             "no puzzle #9", tmp_path)  # fmt: skip


def _bench_file(folder: Path, name: str, content) -> Path:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_report_bad_input(view_inputs, tmp_path, capsys):
    good = _bench(view_inputs, "sudoku", tmp_path / "s")
    rows = json.loads(good.read_text())
    out = tmp_path / "r.html"
    cases = [
        (_bench_file(tmp_path, "x.json", "{not json"), "not a JSON file"),
        (_bench_file(tmp_path, "d.json", {"a": 1}), "expected a list of sampler rows"),
        (_bench_file(tmp_path, "e.json", []), "holds no sampler rows"),
        (_bench_file(tmp_path, "n.json", [{k: v for k, v in rows[0].items() if k != "n"}]),
         "row 0: missing field 'n'"),
        (_bench_file(tmp_path, "a.json", [{**rows[0], "accuracy": 7}]), "has accuracy 7"),
        (_bench_file(tmp_path, "i.json", [{**rows[0], "input": str(tmp_path / "gone.txt")}]),
         "gone.txt: no such file here; give --input FILE"),
        (_bench_file(tmp_path, "c.json", [{**rows[0], "checkpoint": str(tmp_path / "g.pt")}]),
         "g.pt: no such file here; give --checkpoint PATH"),
        (_bench_file(tmp_path, "k.json", [{**rows[0], "name": "zz", "sampler": "zz:q=1"}]),
         "unknown sampler 'zz'"),
        (_bench_file(tmp_path, "t.json", [{k: v for k, v in rows[0].items() if k != "task"}]),
         "row 0 names no task"),
    ]  # fmt: skip
    for bench, needle in cases:
        _refused(capsys, ["report", bench, "--out", out, "--quiet", "--device", "cpu"], needle,
                 tmp_path)  # fmt: skip
    _refused(capsys, ["report", good, "--out", good], "written as .html", tmp_path)
    page_named = _bench_file(tmp_path, "b.html", rows)
    _refused(capsys, ["report", page_named, "--out", page_named], "same file as BENCH #1", tmp_path)
    _refused(capsys, ["report", good, "--out", out, "--scan", "-1"], "--scan", tmp_path)
    maze = _bench(view_inputs, "maze", tmp_path / "m", "eb:gamma=0.5")
    _refused(capsys, ["report", good, maze, "--input", view_inputs["sudoku"][0], "--out", out],
             "--input fits one", tmp_path)  # fmt: skip
    nine = REPO / "benchmarks" / "data" / "sudoku9_hard20.npz"
    _refused(capsys, ["report", good, "--input", nine, "--out", out, "--device", "cpu", "--quiet"],
             "rows of sudoku 4x4 but", tmp_path)  # fmt: skip
