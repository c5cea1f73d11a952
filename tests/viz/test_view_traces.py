"""`unmask view` and `unmask report` pages made from real traces, in headless Chromium.

The pages are written by the commands (tiny random-init models: they guess, so searches
backtrack) and, for EB with many cells per pass, through the Python API with the exact 4x4
oracle. Each test re-runs the sampler (``trace_puzzle``, with the options the page says it
used) and checks the page against what the sampler recorded, not against the payload: at event
k every cell shows the recorded token or a blank, the hover panel the recorded top-3, the rule
panel takes exactly the cells the sampler revealed in that pass, a search shows its backtracks
where they happened. The ``opened`` fixture (``conftest.py``) fails a test on any console error
or any request besides the file itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from view_payload import embedded, need_browser  # noqa: E402

need_browser()

from models.checkpoint import load_model  # noqa: E402
from puzzles.datasets import load_dataset  # noqa: E402
from puzzles.task import get_task  # noqa: E402
from sampling.options import SolveOptions  # noqa: E402
from sampling.samplers import SAMPLERS, EBSampler, ThresholdSampler, TopKSampler  # noqa: E402
from sampling.solve import trace_puzzle  # noqa: E402
from unmask_cli import main  # noqa: E402
from viz import html  # noqa: E402
from viz.payload import puzzle_payload, view_payload  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def options_of(run: dict) -> SolveOptions:
    """The SolveOptions a page's run says it was made with."""
    knobs = {k: v for k, v in run["sampler"].items() if k != "name"}
    extra = {}
    if run["search"]:
        s = run["search"]
        extra = dict(search=s["mode"], branch_entropy=s["branch_entropy"], max_nfe=s["max_nfe"])
    return SolveOptions(sampler=SAMPLERS[run["sampler"]["name"]](**knobs), device="cpu",
                        constrain=run["constrain"], propagate=run["propagate"], **extra)  # fmt: skip


def recorded(model, spec, board, run: dict, index: int):
    """The events the sampler records for ``run`` of a page (the exhausted, no-op backtracks
    left out, as on the page) and its final tokens."""
    ((result, _),) = trace_puzzle(model, spec, board, [("", options_of(run))], index=index,
                                  record="full")  # fmt: skip
    events = [e for e in result.events[0] if not (e.kind == "backtrack" and e.cell is None)]
    return events, result


def shown(values) -> list[str]:
    return ["" if t < 0 else str(int(t)) for t in values]


class Page:
    """A generated page with the model and puzzles it came from."""

    def __init__(self, path, model, spec, boards):
        self.path, self.model, self.spec, self.boards = Path(path), model, spec, boards
        self.payload = embedded(path)

    def traces(self):
        """[(puzzle position, puzzle, run position, run, events, result)] for every run."""
        for pi, p in enumerate(self.payload["puzzles"]):
            for ri, run in enumerate(p["runs"]):
                events, result = recorded(self.model, self.spec, self.boards[p["index"]], run,
                                          p["index"])  # fmt: skip
                yield pi, p, ri, run, events, result


def _cli_page(view_inputs, family, out, *extra) -> Page:
    path, model_path = view_inputs[family]
    argv = ["view", family, "--input", str(path), "--checkpoint", str(model_path), "--device",
            "cpu", "--quiet", "--out", str(out), *map(str, extra)]  # fmt: skip
    assert main(argv) == 0
    ds = load_dataset(path, family)
    model = load_model(model_path, task=family, size=ds.size, device="cpu").model
    return Page(out, model, ds.spec, ds.puzzles)


def _takes_back(model, spec, boards, opts) -> list[int]:
    """Puzzles whose search under ``opts`` has a backtrack that masks cells again."""
    out = []
    for i, board in enumerate(boards):
        ((res, _),) = trace_puzzle(model, spec, board, [("", opts)], index=i, record="full")
        if any(e.kind == "backtrack" and (e.retracted & ~e.revealed).any() for e in res.events[0]):
            out.append(i)
    return out


@pytest.fixture(scope="module")
def pages(view_inputs, tmp_path_factory):
    from sampling.oracle import ExactSudokuDenoiser

    root = tmp_path_factory.mktemp("real_pages")
    out = {
        "compare": _cli_page(view_inputs, "sudoku", root / "compare.html", "--index", 0, 1,
                             "--compare", "topk:k=1", "eb:gamma=0.5", "threshold:tau=0.3",
                             "dus"),
        "maze": _cli_page(view_inputs, "maze", root / "maze.html", "--index", 0, 1, "--compare",
                          "topk:k=2", "eb:gamma=1", "--constrain"),
        "latin": _cli_page(view_inputs, "latin", root / "latin.html", "--index", 0, 1,
                           "--propagate", "--search", "backtrack"),
    }  # fmt: skip
    # a search that takes cells back: top-1 with every cell a branch point
    ds = load_dataset(view_inputs["sudoku"][0], "sudoku")
    sudoku = out["compare"]
    opts = SolveOptions(sampler=TopKSampler(1), search="backtrack", device="cpu")
    picks = _takes_back(sudoku.model, ds.spec, ds.puzzles, opts)
    assert picks, "a random model's search takes cells back on some puzzle"
    out["search"] = _cli_page(view_inputs, "sudoku", root / "search.html", "--index", picks[0],
                              "--sampler", "topk", "--search", "backtrack")  # fmt: skip
    # EB with the exact oracle: many cells per pass, zero-entropy cells, the bound at work
    oracle, spec = ExactSudokuDenoiser(), get_task("sudoku").spec(4)
    puzzles, grids = oracle.random_puzzles(3, 5, generator=torch.Generator().manual_seed(2))
    boards = spec.decode(puzzles.numpy())
    runs = [(f"eb:gamma={g}", SolveOptions(sampler=EBSampler(g), device="cpu")) for g in (0.3, 1.0)]
    runs.append(("threshold:tau=0.5", SolveOptions(sampler=ThresholdSampler(0.5), device="cpu")))
    items = []
    for i, board in enumerate(boards):
        results = trace_puzzle(oracle, spec, board, runs, index=i, record="full")
        traced = [(lab, o, r, v) for (lab, o), (r, v) in zip(runs, results, strict=True)]
        items.append(puzzle_payload(spec, board, traced, source="oracle", index=i,
                                    solution=spec.decode(grids[i : i + 1].numpy())[0]))  # fmt: skip
    path = html.write_page(root / "oracle.html", view_payload(items, "EB and the exact oracle"))
    out["oracle"] = Page(path, oracle, spec, boards)
    return out


COLLECT = """n => { const s = document.getElementById('event-slider'), out = [];
  for (let k = 0; k <= n; k++) { s.value = k; s.dispatchEvent(new Event('input'));
    const panel = document.getElementById('rule-panel');
    out.push({tokens: [...document.querySelectorAll('.board .cell')].map(c => c.dataset.token),
              taken: panel.dataset.taken, agrees: panel.dataset.agrees,
              kind: document.getElementById('event-kind').dataset.kind}); }
  return out; }"""


@pytest.mark.parametrize("name", ["compare", "maze", "latin", "search", "oracle"])
def test_every_event_shows_the_recorded_board_and_the_rule_takes_the_recorded_cells(
    opened, pages, name
):
    page = pages[name]
    view = opened(page.path)
    multi = False
    for pi, p, ri, run, events, result in page.traces():
        if len(page.payload["puzzles"]) > 1:
            view.puzzle(pi)
        view.run_tab(ri)
        seen = view.page.evaluate(COLLECT, len(events))
        assert len(seen) == len(events) + 1, f"{p['id']} {run['label']}: the page's events"
        assert seen[0]["tokens"] == shown(p["puzzle"])
        for k, ev in enumerate(events, start=1):
            where = f"{p['id']} {run['label']} event {k} ({ev.kind})"
            assert seen[k]["tokens"] == shown(ev.values), where
            assert seen[k]["kind"] == ev.kind, where
            if ev.kind == "pass":  # the rule panel takes exactly what the sampler revealed
                taken = {int(c) for c in seen[k]["taken"].split(",")}
                assert taken == set(np.flatnonzero(ev.revealed).tolist()), where
                assert seen[k]["agrees"] == "true", where
                multi |= len(taken) > 1
            else:
                assert seen[k]["taken"] is None, where
        final = [-1 if t == page.spec.mask_id else t for t in result.tokens[0].tolist()]
        assert seen[-1]["tokens"] == shown(final)
    if name == "oracle":
        assert multi, "EB took several cells in some pass"


def test_the_hover_panel_shows_the_recorded_top3(opened, pages):
    page = pages["oracle"]
    view = opened(page.path)
    checked = 0
    for pi, _, ri, _, events, _ in page.traces():
        if pi > 0:
            break
        view.run_tab(ri)
        for k, ev in enumerate(events[:2], start=1):
            view.go(k)
            cells = np.flatnonzero(ev.revealed)
            for i, cell in enumerate(cells[:3]):
                view.page.hover(f'.board [data-cell="{cell}"]')
                assert view.page.get_attribute("#cell-info", "data-cell") == str(cell)
                tokens = view.page.eval_on_selector_all(
                    "#cell-info .top-row", "els => els.map(e => +e.dataset.token)"
                )
                probs = view.page.eval_on_selector_all(
                    "#cell-info .top-prob", "els => els.map(e => +e.dataset.prob)"
                )
                assert tokens == ev.top_tokens[i].tolist()
                assert probs == pytest.approx(ev.top_probs[i].tolist(), rel=1e-3, abs=1e-12)
                assert f"nfe {ev.nfe}" in view.page.inner_text("#ci-pass")
                assert view.page.inner_text("#ci-state") == str(int(ev.values[cell]) + 1)
                entropy = float(view.page.inner_text("#ci-entropy").split()[0])
                assert entropy == pytest.approx(float(ev.entropy[cell]), rel=1e-2, abs=1e-9)
                checked += 1
    assert checked >= 6


def test_a_search_shows_its_backtrack_where_it_happened(opened, pages):
    page = pages["search"]
    view = opened(page.path)
    ((_, p, _, run, events, _),) = list(page.traces())
    assert run["search"]["mode"] == "backtrack"
    k, ev = next((k, e) for k, e in enumerate(events, start=1)
                 if e.kind == "backtrack" and (e.retracted & ~e.revealed).any())  # fmt: skip
    assert view.page.get_attribute(f'#timeline .tick[data-event="{k}"]', "data-kind") == "backtrack"
    view.page.click(f'#timeline .tick[data-event="{k}"]')
    assert view.event() == k
    assert view.page.get_attribute("#event-kind", "data-kind") == "backtrack"
    for cell in np.flatnonzero(ev.retracted & ~ev.revealed):
        el = view.page.locator(f'.board [data-cell="{cell}"]')
        assert "taken-back" in el.get_attribute("class").split()
        assert el.get_attribute("data-token") == ""
    branch = view.page.locator(f'.board [data-cell="{ev.cell}"]')
    assert "branch-cell" in branch.get_attribute("class").split()
    assert branch.get_attribute("data-token") == str(ev.token)
    note = view.page.inner_text("#event-note")
    assert "Backtrack" in note and f"to the next value, {ev.token + 1}" in note
    # the cells the search recorded as branch points say so when hovered
    first = events[0]
    cell = int(np.flatnonzero(first.revealed)[0])
    view.go(1)
    view.page.hover(f'.board [data-cell="{cell}"]')
    assert view.page.inner_text("#ci-branch") == ("yes" if first.branch[cell] else "no")


def test_keyboard_steps_through_a_real_trace(opened, pages):
    page = pages["compare"]
    view = opened(page.path)
    ((_, p, _, run, events, _), *_) = list(page.traces())
    keys = view.page.keyboard
    keys.press("End")
    assert view.event() == len(events)
    keys.press("ArrowLeft")
    assert view.event() == len(events) - 1
    assert view.tokens() == shown(events[-2].values)
    keys.press("Home")
    assert view.event() == 0 and view.tokens() == shown(p["puzzle"])
    keys.press("ArrowRight")
    keys.press("ArrowRight")
    assert view.event() == 2 and view.tokens() == shown(events[1].values)


def test_renderers_of_the_three_families(opened, pages):
    view = opened(pages["maze"].path)
    maze = pages["maze"].payload["puzzles"][0]
    assert view.page.locator(".board.r-maze").count() == 1
    assert view.page.locator(".board .cell.wall").count() == maze["puzzle"].count(2)
    assert view.page.inner_text(f'.board [data-cell="{maze["puzzle"].index(3)}"]') == "S"
    grid = opened(pages["latin"].path)
    latin = pages["latin"].payload["puzzles"][0]
    assert grid.page.locator(".board.r-grid").count() == 1
    grid.page.keyboard.press("End")
    texts = grid.page.eval_on_selector_all(".board .cell", "els => els.map(e => e.textContent)")
    assert texts == [latin["symbols"][t] for t in latin["runs"][0]["final"]]
    sudoku = opened(pages["compare"].path)
    assert sudoku.page.locator(".board.r-sudoku").count() == 1


def test_compare_mode_on_real_runs(opened, pages):
    page = pages["compare"]
    view = opened(page.path)
    runs = [(run, events) for pi, _, _, run, events, _ in page.traces() if pi == 0]
    view.page.check("#compare-toggle")
    assert view.page.locator(".board").count() == len(runs)
    for steps in (1, 3):
        view.page.keyboard.press("Home")
        for _ in range(steps):
            view.page.keyboard.press("ArrowRight")
        for i, (run, events) in enumerate(runs):  # each board at its last event with nfe <= steps
            k = max([0] + [j for j, e in enumerate(events, start=1) if e.nfe <= steps])
            want = shown(events[k - 1].values) if k else shown(page.payload["puzzles"][0]["puzzle"])
            assert view.tokens(i) == want, f"{run['label']} at nfe {steps}"


def test_a_report_from_a_real_bench(opened, view_inputs, tmp_path):
    path, model = view_inputs["sudoku"]
    prefix = tmp_path / "bench"
    assert main(["bench", "sudoku", "--input", str(path), "--checkpoint", str(model), "--device",
                 "cpu", "--samplers", "topk:k=1,eb:gamma=0.5", "--quiet", "--out",
                 str(prefix)]) == 0  # fmt: skip
    out = tmp_path / "report.html"
    assert main(["report", f"{prefix}.json", "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    rows = json.loads(Path(f"{prefix}.json").read_text())
    view = opened(out)
    samplers = view.page.eval_on_selector_all("#bench-table tbody tr",
                                              "els => els.map(e => e.dataset.sampler)")  # fmt: skip
    assert samplers == [r["sampler"] for r in rows]
    assert view.page.locator("#bench-chart .point").count() == len(rows)
    view.page.hover(f'#bench-chart .point[data-sampler="{rows[1]["sampler"]}"] circle')
    tip = view.page.inner_text("#chart-tooltip")
    assert rows[1]["sampler"] in tip and f"({rows[1]['solved']}/{rows[1]['n']})" in tip
    payload = embedded(out)
    if any(not r["valid"] for p in payload["puzzles"] for r in p["runs"]):
        assert "failed" in view.page.locator("#puzzle-picker option").first.inner_text()
    view.page.keyboard.press("End")
    first = next(p for p in payload["puzzles"] if not all(r["valid"] for r in p["runs"]))
    assert view.tokens() == shown(first["runs"][0]["final"])
