"""The HTML viewer in a real browser: headless Chromium opens the generated files from file://.

Every page is opened with every request intercepted (only the file itself may load) and with its
console watched (the ``opened`` fixture of ``conftest.py``): a test fails on any console error,
page error or outside request, besides what it checks itself. One browser serves the whole
module.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from viz import html

sys.path.insert(0, str(Path(__file__).parent))
import view_payload as vp  # noqa: E402

vp.need_browser()

EB_FAIL = vp.sampler_label(*vp.EB)


@pytest.fixture(scope="module")
def puzzles():
    return {
        "sudoku": vp.sudoku_puzzle(1, search=True, wrong_in=(EB_FAIL,)),
        "maze": vp.maze_puzzle(0),
        "grid": vp.grid_puzzle(0),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory, puzzles):
    root = tmp_path_factory.mktemp("pages")
    view = html.write_page(root / "view.html", vp.view_payload(list(puzzles.values())))
    report_puzzles = [vp.sudoku_puzzle(s, wrong_in=(EB_FAIL,) if s == 2 else ()) for s in range(4)]
    report = html.write_page(root / "report.html", vp.report_payload(report_puzzles))
    return {"view": view, "report": report, "report_puzzles": report_puzzles}


def expected(puzzle: dict, run: dict, k: int) -> list[str]:
    return ["" if t < 0 else str(t) for t in vp.fold(puzzle["puzzle"], run["events"], k)]


# --- the view --------------------------------------------------------------------------------


def test_board_after_every_event_is_the_folded_trace(opened, files, puzzles):
    page = opened(files["view"])
    for pi, puzzle in enumerate(puzzles.values()):
        page.puzzle(pi)
        for ri, run in enumerate(puzzle["runs"]):
            page.run_tab(ri)
            shown = page.boards_over_events(len(run["events"]))
            for k, board in enumerate(shown):
                assert board == expected(puzzle, run, k), f"{puzzle['id']} {run['label']} event {k}"
            assert page.event() == len(run["events"])


def test_hover_panel_shows_the_recorded_top3(opened, files, puzzles):
    page = opened(files["view"])
    run = puzzles["sudoku"]["runs"][0]
    for k in (1, 3):
        ev = run["events"][k - 1]
        page.go(k)
        for cell, token in ev["set"][:3]:
            page.page.hover(f'.board [data-cell="{cell}"]')
            info = ev["info"][str(cell)]
            assert page.page.get_attribute("#cell-info", "data-cell") == str(cell)
            probs = [float(p) for p in page.page.eval_on_selector_all(
                "#cell-info .top-prob", "els => els.map(e => e.dataset.prob)")]  # fmt: skip
            tokens = page.page.eval_on_selector_all(
                "#cell-info .top-row", "els => els.map(e => +e.dataset.token)"
            )
            assert tokens == [t for t, _ in info["top"]]
            assert probs == pytest.approx([p for _, p in info["top"]], rel=1e-3)
            assert f"nfe {ev['nfe']}" in page.page.inner_text("#ci-pass")
            assert page.page.inner_text("#ci-state") == str(token + 1)  # Sudoku symbol = token + 1
            shown = float(page.page.inner_text("#ci-entropy").split()[0])
            assert shown == pytest.approx(info["entropy"], rel=1e-3, abs=1e-9)
    # click pins a cell: the panel keeps it when the mouse leaves the board
    cell = run["events"][2]["set"][0][0]
    page.page.click(f'.board [data-cell="{cell}"]')
    page.page.mouse.move(5, 5)
    assert page.page.get_attribute("#cell-info", "data-cell") == str(cell)


def test_search_cells_say_whether_they_were_branch_points(opened, files, puzzles):
    page = opened(files["view"])
    ri, run = next((i, r) for i, r in enumerate(puzzles["sudoku"]["runs"]) if r["search"])
    page.run_tab(ri)
    seen = set()
    for k, ev in enumerate(run["events"][:4], start=1):
        if ev["kind"] != "pass":
            continue
        page.go(k)
        for cell, _ in ev["set"]:
            page.page.hover(f'.board [data-cell="{cell}"]')
            want = "yes" if ev["info"][str(cell)]["branch"] else "no"
            assert page.page.inner_text("#ci-branch") == want
            seen.add(want)
            has_mark = (
                "bp" in page.page.get_attribute(f'.board [data-cell="{cell}"]', "class").split()
            )
            assert has_mark == (want == "yes")
    assert seen == {"yes", "no"}


def test_rule_panel_takes_the_recorded_cells(opened, files, puzzles):
    page = opened(files["view"])
    checked = set()
    for pi, puzzle in enumerate(puzzles.values()):
        page.puzzle(pi)
        for ri, run in enumerate(puzzle["runs"]):
            page.run_tab(ri)
            for k, ev in enumerate(run["events"], start=1):
                page.go(k)
                panel = page.page.locator("#rule-panel")
                if ev["kind"] != "pass":
                    assert panel.get_attribute("data-taken") is None
                    continue
                taken = panel.get_attribute("data-taken")
                assert {int(c) for c in taken.split(",")} == {c for c, _ in ev["set"]}, (
                    f"{puzzle['id']} {run['label']} event {k}"
                )
                assert panel.get_attribute("data-agrees") == "true"
                checked.add(run["sampler"]["name"])
    assert {"eb", "topk", "threshold", "dus"} <= checked


def test_rule_panel_flags_a_trace_that_breaks_its_rule(opened, tmp_path, puzzles):
    """A trace whose pass set other cells than EB's prefix: the page says so, and its
    data-taken still holds what the rule takes."""
    import copy

    puzzle = copy.deepcopy(puzzles["sudoku"])
    run = puzzle["runs"][0]
    ev = run["events"][0]
    first, rest = ev["order"][0], [c for c, _ in ev["set"]]
    extra = next(c for c in ev["order"] if c not in rest)  # one cell more than the rule takes
    ev["set"].append([extra, puzzle["solution"][extra]])
    ev["info"][str(extra)] = dict(ev["info"][str(first)])
    later = [e for e in run["events"][1:] if any(c == extra for c, _ in e["set"])][0]
    later["set"] = [p for p in later["set"] if p[0] != extra]
    for e in run["events"][1:]:
        if e["kind"] == "pass":
            idx = [i for i, c in enumerate(e["order"]) if c != extra]
            for key in ("order", "proxy", "entropy", "confidence"):
                e[key] = [e[key][i] for i in idx]
    page = opened(html.write_page(tmp_path / "odd.html", vp.view_payload([puzzle])))
    page.go(1)
    panel = page.page.locator("#rule-panel")
    assert panel.get_attribute("data-agrees") == "false"
    assert {int(c) for c in panel.get_attribute("data-taken").split(",")} == set(rest)
    assert "other cells" in panel.inner_text()


def test_search_view_shows_the_backtrack(opened, files, puzzles):
    page = opened(files["view"])
    ri, run = next((i, r) for i, r in enumerate(puzzles["sudoku"]["runs"]) if r["search"])
    page.run_tab(ri)
    k = next(i for i, e in enumerate(run["events"], start=1) if e["kind"] == "backtrack")
    ev = run["events"][k - 1]
    assert page.page.get_attribute(f'#timeline .tick[data-event="{k}"]', "data-kind") == "backtrack"
    page.page.click(f'#timeline .tick[data-event="{k}"]')
    assert page.event() == k
    assert page.page.get_attribute("#event-kind", "data-kind") == "backtrack"
    assert ev["unset"], "the synthetic backtrack takes cells back"
    for cell in ev["unset"]:
        el = page.page.locator(f'.board [data-cell="{cell}"]')
        assert "taken-back" in el.get_attribute("class").split()
        assert el.get_attribute("data-token") == ""
    branch = page.page.locator(f'.board [data-cell="{ev["cell"]}"]')
    assert "branch-cell" in branch.get_attribute("class").split()
    assert branch.get_attribute("data-token") == str(ev["token"])
    note = page.page.inner_text("#event-note")
    assert "Backtrack" in note and f"to the next value, {ev['token'] + 1}" in note
    # the rule panel says the search, not the sampler, chose these cells
    assert "search" in page.page.inner_text("#rule-panel")


def test_remask_events(opened, tmp_path, puzzles):
    puzzle = dict(puzzles["grid"])
    puzzle["runs"] = [vp.with_remask(puzzle["runs"][1], 2)]  # the DUS run, remasked after pass 2
    run = puzzle["runs"][0]
    page = opened(html.write_page(tmp_path / "remask.html", vp.view_payload([puzzle])))
    shown = page.boards_over_events(len(run["events"]))
    assert shown == [expected(puzzle, run, k) for k in range(len(run["events"]) + 1)]
    assert page.page.get_attribute('#timeline .tick[data-event="3"]', "data-kind") == "remask"
    page.go(3)
    assert page.page.get_attribute("#event-kind", "data-kind") == "remask"
    for cell in run["events"][2]["unset"]:
        assert "taken-back" in page.page.get_attribute(f'.board [data-cell="{cell}"]', "class")
    page.go(4)  # the pass again: the rule panel works after a remask
    assert page.page.get_attribute("#rule-panel", "data-agrees") == "true"


def test_final_board_marks_the_refusal_and_the_first_wrong_cell(opened, files, puzzles):
    page = opened(files["view"])
    run = puzzles["sudoku"]["runs"][0]
    assert not run["valid"] and run["first_wrong"] is not None
    page.page.keyboard.press("End")
    assert run["reason"] in page.page.inner_text(".run-head .verdict.bad")
    wrong = page.page.locator(f'.board [data-cell="{run["first_wrong"]}"]')
    assert "wrong" in wrong.get_attribute("class").split()
    page.page.keyboard.press("ArrowLeft")  # only the final board carries the marks
    assert "wrong" not in wrong.get_attribute("class").split()


def test_keyboard_steps_and_plays(opened, files, puzzles):
    page = opened(files["view"])
    n = len(puzzles["sudoku"]["runs"][0]["events"])
    keys = page.page.keyboard
    keys.press("End")
    assert page.event() == n
    keys.press("ArrowLeft")
    assert page.event() == n - 1
    keys.press("Home")
    assert page.event() == 0
    keys.press("ArrowRight")
    keys.press("ArrowRight")
    assert page.event() == 2
    assert page.tokens() == expected(puzzles["sudoku"], puzzles["sudoku"]["runs"][0], 2)
    keys.press(" ")
    page.page.wait_for_function("() => +document.getElementById('event-index').dataset.event > 2")
    keys.press(" ")
    stopped = page.event()
    page.page.wait_for_timeout(700)
    assert page.event() == stopped
    # the buttons do the same
    page.page.click("#first")
    assert page.event() == 0
    page.page.click("#forward")
    assert page.event() == 1


def test_puzzle_picker_and_renderers(opened, files, puzzles):
    page = opened(files["view"])
    assert page.page.locator("#puzzle-picker option").count() == 3
    page.puzzle(1)  # the maze
    maze = puzzles["maze"]
    assert page.page.locator(".board.r-maze").count() == 1
    walls = [i for i, t in enumerate(maze["puzzle"]) if t == 2]
    assert page.page.locator(".board .cell.wall").count() == len(walls)
    start = maze["puzzle"].index(3)
    assert page.page.inner_text(f'.board [data-cell="{start}"]') == "S"
    page.page.keyboard.press("End")
    path = [i for i, t in enumerate(maze["runs"][0]["final"]) if t == 1 and maze["puzzle"][i] < 0]
    assert page.page.locator(".board .cell.path").count() == len(path)
    page.puzzle(2)  # the generic grid: each token's symbol as text
    grid = puzzles["grid"]
    page.page.keyboard.press("End")
    texts = page.page.eval_on_selector_all(".board .cell", "els => els.map(e => e.textContent)")
    assert texts == [grid["symbols"][t] for t in grid["runs"][0]["final"]]


def test_colour_toggle_changes_the_scale(opened, files, puzzles):
    page = opened(files["view"])
    page.page.keyboard.press("End")
    cell = puzzles["sudoku"]["runs"][0]["events"][-1]["set"][0][0]  # the last pass: bright by order
    sel = f'.board [data-cell="{cell}"]'

    def background():
        return page.page.eval_on_selector(sel, "e => e.style.backgroundColor")

    by_entropy = background()
    page.page.select_option("#color-by", "order")
    assert background() != by_entropy
    assert "forward pass" in page.page.inner_text(".legend")


def test_compare_mode_steps_runs_together(opened, files, puzzles):
    page = opened(files["view"])
    puzzle = puzzles["sudoku"]
    runs = puzzle["runs"]
    page.page.check("#compare-toggle")
    assert page.page.locator(".board").count() == len(runs)

    def folded(run):
        unknown = sum(t < 0 for t in puzzle["puzzle"])
        nfe, frac = [0], [0.0]
        for k in range(1, len(run["events"]) + 1):
            board = vp.fold(puzzle["puzzle"], run["events"], k)
            nfe.append(run["events"][k - 1]["nfe"])
            frac.append(
                sum(b >= 0 and p < 0 for b, p in zip(board, puzzle["puzzle"], strict=True))
                / unknown
            )
        return nfe, frac

    def check(position: float, by: str):
        for i, run in enumerate(runs):
            nfe, frac = folded(run)
            if by == "nfe":
                k = max(j for j, n in enumerate(nfe) if n <= position)
            else:
                k = next((j for j, f in enumerate(frac) if math.floor(f * 1000 + 0.5) / 1000 >= position),
                         len(nfe) - 1)  # fmt: skip
            assert page.page.get_attribute(f'.board[data-run="{i}"]', "data-event") == str(k)
            assert page.tokens(i) == expected(puzzle, run, k), f"{run['label']} at {by} {position}"

    for steps in (0, 3, 7):
        page.page.keyboard.press("Home")
        for _ in range(steps):
            page.page.keyboard.press("ArrowRight")
        assert page.page.get_attribute("#event-index", "data-position") == str(steps)
        check(steps, "nfe")
    page.page.select_option("#step-by", "fraction")
    for index in (0, 5, 12):
        page.go(index)
        position = float(page.page.get_attribute("#event-index", "data-position"))
        check(position, "fraction")
    page.page.keyboard.press("End")
    check(1.0, "fraction")
    # hovering a board of compare mode shows that run's cell
    cell = runs[1]["events"][0]["set"][0][0]
    page.page.hover(f'.board[data-run="1"] [data-cell="{cell}"]')
    assert runs[1]["label"] in page.page.inner_text("#cell-info")


def test_nothing_leaves_the_page(opened, files):
    """Only the file loads; the page's security policy blocks a request even if code tried."""
    page = opened(files["view"], strict=False)
    assert set(page.requests) == {page.url}
    result = page.page.evaluate(
        "() => fetch('http://127.0.0.1:9/x').then(() => 'sent', () => 'blocked')"
    )
    assert result == "blocked"
    assert set(page.requests) == {page.url}  # blocked before it reached the network
    assert any("Content Security Policy" in e for e in page.errors)


# --- the report ------------------------------------------------------------------------------


def test_report_table_sorts(opened, files):
    page = opened(files["report"])
    rows = vp.bench_rows(files["report_puzzles"])

    def column(key):
        return page.page.eval_on_selector_all(
            f'#bench-table tbody td[data-key="{key}"]', "els => els.map(e => e.textContent)"
        )

    samplers = lambda: page.page.eval_on_selector_all(  # noqa: E731
        "#bench-table tbody tr", "els => els.map(e => e.dataset.sampler)"
    )
    assert samplers() == [r["sampler"] for r in rows]
    page.page.click('#bench-table th[data-key="mean_nfe"]')
    assert samplers() == [r["sampler"] for r in sorted(rows, key=lambda r: r["mean_nfe"])]
    assert page.page.get_attribute('th[data-key="mean_nfe"]', "aria-sort") == "ascending"
    page.page.click('#bench-table th[data-key="mean_nfe"]')
    assert samplers() == [r["sampler"] for r in sorted(rows, key=lambda r: -r["mean_nfe"])]
    page.page.click('#bench-table th[data-key="sampler"]')
    assert samplers() == sorted(r["sampler"] for r in rows)
    assert len(column("accuracy")) == len(rows)


def test_report_chart_tooltip(opened, files):
    page = opened(files["report"])
    rows = vp.bench_rows(files["report_puzzles"])
    assert page.page.locator("#bench-chart .point").count() == len(rows)
    tip = page.page.locator("#chart-tooltip")
    assert tip.is_hidden()
    row = rows[0]
    page.page.hover(f'#bench-chart .point[data-sampler="{row["sampler"]}"] circle')
    assert tip.is_visible()
    text = tip.inner_text()
    assert row["sampler"] in text and f"({row['solved']}/{row['n']})" in text
    assert "mean NFE" in text and "null" not in text
    page.page.mouse.move(2, 2)
    assert tip.is_hidden()


def test_report_embeds_views_failures_first(opened, files):
    page = opened(files["report"])
    first = page.page.locator("#puzzle-picker option").first.inner_text()
    assert "failed" in first
    assert page.page.locator(".views .board .cell").count() == 81
    page.page.keyboard.press("End")
    assert page.page.locator(".views .verdict.bad").count() == 1
