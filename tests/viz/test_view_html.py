"""The HTML pages without a browser: escaping, validation, the size budget, package data."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from viz import html

sys.path.insert(0, str(Path(__file__).parent))
import view_payload as vp  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sudoku():
    return vp.sudoku_puzzle(1, search=True, wrong_in=(vp.sampler_label(*vp.EB),))


@pytest.fixture(scope="module")
def view(sudoku):
    return vp.view_payload([sudoku, vp.maze_puzzle(0), vp.grid_puzzle(0)])


def embedded_json(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="unmask-payload">(.*?)</script>', page, re.S)
    assert m, "the payload script is in the page"
    return json.loads(m.group(1))


# --- the synthetic payloads themselves ---------------------------------------------------------


def test_synthetic_payloads_are_valid(view):
    html.validate_payload(view)
    html.validate_payload(vp.report_payload(view["puzzles"][:1]))


def test_synthetic_eb_sets_are_ebs_prefix(sudoku):
    """The builder's EB passes take exactly the largest prefix with sum(H) - max(H) <= gamma."""
    run = next(r for r in sudoku["runs"] if r["sampler"]["name"] == "eb" and not r["search"])
    gamma = run["sampler"]["gamma"]
    sizes = []
    for ev in (e for e in run["events"] if e["kind"] == "pass"):
        H = ev["entropy"]
        k = max(1, max(i for i in range(len(H) + 1) if sum(H[:i]) - max(H[:i], default=0) <= gamma))
        assert [c for c, _ in ev["set"]] == ev["order"][:k]
        sizes.append(k)
    assert max(sizes) > 1, "EB takes several cells in some pass"


def test_synthetic_search_run_has_a_backtrack(sudoku):
    run = next(r for r in sudoku["runs"] if r["search"])
    kinds = [e["kind"] for e in run["events"]]
    assert "backtrack" in kinds and run["valid"]
    bt = run["events"][kinds.index("backtrack")]
    assert bt["unset"] and [bt["cell"], bt["token"]] in bt["set"]


# --- escaping ----------------------------------------------------------------------------------


def test_payload_is_escaped_inside_its_script(sudoku):
    nasty = "</script><script>alert(1)</script><!-- \u2028\u2029 & 'q' \"dq\""
    payload = vp.view_payload([copy.deepcopy(sudoku)], title=nasty)
    payload["puzzles"][0]["source"] = nasty
    payload["puzzles"][0]["runs"][0]["reason"] = "</SCRIPT>" + nasty
    page = html.view_html(payload)
    assert page.lower().count("</script") == 2  # the payload's and the viewer's own closing tags
    assert "<!--" not in page
    assert "\u2028" not in page and "\u2029" not in page
    back = embedded_json(page)
    assert back["title"] == nasty and back["puzzles"][0]["source"] == nasty
    assert back["puzzles"][0]["runs"][0]["reason"] == "</SCRIPT>" + nasty
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)" in page


def test_payload_json_round_trips(view):
    page = html.view_html(view)
    assert embedded_json(page) == html.compact_payload(view)


def test_page_is_self_contained(view):
    page = html.view_html(view)
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page, re.I)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp


# --- compaction and the size budget ------------------------------------------------------------


def test_compact_rounds_floats_and_drops_derivable_proxies(sudoku):
    payload = vp.view_payload([copy.deepcopy(sudoku)])
    ev = payload["puzzles"][0]["runs"][0]["events"][0]
    ev["entropy"][0] = 0.123456789
    ev["proxy"][0] = 0.123456789
    out = html.compact_payload(payload)
    ev2 = out["puzzles"][0]["runs"][0]["events"][0]
    assert ev2["entropy"][0] == 0.1235
    assert "proxy" not in ev2  # proxy=entropy: the page uses the entropies
    assert payload["puzzles"][0]["runs"][0]["events"][0]["entropy"][0] == 0.123456789  # a copy
    payload["puzzles"][0]["runs"][0]["sampler"]["gamma"] = 0.0123456789
    out = html.compact_payload(payload)
    assert out["puzzles"][0]["runs"][0]["sampler"]["gamma"] == 0.0123456789  # knobs stay exact
    grid = html.compact_payload(vp.view_payload([vp.grid_puzzle(0)]))
    margin = grid["puzzles"][0]["runs"][0]
    assert margin["sampler"]["proxy"] == "margin"
    assert all("proxy" in e for e in margin["events"] if e["kind"] == "pass")  # not derivable


def test_size_budget_16_sudoku_x_3_runs():
    payload = vp.sudoku_16x3()
    runs = payload["puzzles"][0]["runs"]
    assert [r["sampler"]["name"] for r in runs] == ["topk", "eb", "threshold"]
    assert runs[0]["nfe"] > 50  # top-1: one pass per cell
    page = html.view_html(payload)
    size = len(page.encode("utf-8"))
    print(f"16 Sudoku x 3 runs: {size / 1e6:.3f} MB")
    assert size <= 1_500_000
    code = len(html.static_text("view.js").encode()) + len(html.static_text("view.css").encode())
    assert code <= 80_000, f"view.js + view.css are {code} bytes"


# --- validation --------------------------------------------------------------------------------


def _bad(view, edit):
    payload = copy.deepcopy(view)
    edit(payload)
    return payload


def _first_pass(p):
    return p["puzzles"][0]["runs"][0]["events"][0]


def _set(obj, key, value):
    obj[key] = value


CASES = [
    ("kind", lambda p: _set(p, "kind", "movie"), r"^kind: expected one of view, report"),
    ("version", lambda p: _set(p, "version", 2), r"^version: this page reads version 1"),
    ("no puzzles", lambda p: _set(p, "puzzles", []), r"^puzzles: a view needs"),
    ("renderer", lambda p: _set(p["puzzles"][1], "renderer", "hex"), r"^puzzles\[1\]\.renderer"),
    ("box", lambda p: _set(p["puzzles"][0], "box", 2), r"^puzzles\[0\]\.box"),
    ("puzzle length", lambda p: p["puzzles"][0]["puzzle"].pop(), r"^puzzles\[0\]\.puzzle: expected 81"),
    ("token range", lambda p: _set(p["puzzles"][0]["puzzle"], 0, 42), r"^puzzles\[0\]\.puzzle\[0\]: 42 is out"),
    ("missing field", lambda p: p["puzzles"][0]["runs"][1].pop("final"), r"^puzzles\[0\]\.runs\[1\]: missing field 'final'"),
    ("sampler", lambda p: _set(p["puzzles"][0]["runs"][0]["sampler"], "name", "magic"), r"runs\[0\]\.sampler\.name"),
    ("gamma", lambda p: p["puzzles"][0]["runs"][0]["sampler"].pop("gamma"), r"runs\[0\]\.sampler: missing field 'gamma'"),
    ("set cell", lambda p: _set(_first_pass(p)["set"][0], 0, 81), r"events\[0\]\.set\[0\]\[0\]: 81 is out of range"),
    ("set a given", lambda p: _set(_first_pass(p)["set"][0], 0, p["puzzles"][0]["puzzle"].index(0)), r"events\[0\]\.set\[0\]: cell \d+ is given"),
    ("nfe", lambda p: _set(_first_pass(p), "nfe", 2), r"events\[0\]\.nfe: expected 1 \(a pass adds one"),
    ("order", lambda p: _first_pass(p)["order"].append(p["puzzles"][0]["puzzle"].index(0)), r"events\[0\]\.order\[\d+\]: cell \d+ is not masked"),
    ("scores length", lambda p: _first_pass(p)["entropy"].pop(), r"events\[0\]\.entropy: expected \d+ entries"),
    ("nan", lambda p: _set(_first_pass(p)["entropy"], 0, float("nan")), r"events\[0\]\.entropy\[0\]: expected a finite number"),
    ("info key", lambda p: _set(_first_pass(p)["info"], "x", {}), r"events\[0\]\.info\.x: keys are cell indices"),
    ("final", lambda p: _set(p["puzzles"][0]["runs"][1]["final"], p["puzzles"][0]["puzzle"].index(-1), 9 - 1 - p["puzzles"][0]["runs"][1]["final"][p["puzzles"][0]["puzzle"].index(-1)] or 1), r"runs\[1\]\.final\[\d+\]: \d+ but the board after the last event holds"),
    ("run nfe", lambda p: _set(p["puzzles"][0]["runs"][1], "nfe", 999), r"runs\[1\]\.nfe: 999 but the events count"),
    ("duplicate id", lambda p: _set(p["puzzles"][1], "id", p["puzzles"][0]["id"]), r"^puzzles\[1\]\.id: 'sudoku-1' is used"),
    ("search mode", lambda p: _set(p["puzzles"][0]["runs"][3]["search"], "mode", "dig"), r"runs\[3\]\.search\.mode"),
]  # fmt: skip


@pytest.mark.parametrize("name,edit,message", CASES, ids=[c[0] for c in CASES])
def test_validation_names_the_bad_field(view, name, edit, message):
    with pytest.raises(ValueError, match=message):
        html.validate_payload(_bad(view, edit))


def test_backtrack_must_set_its_branch_cell(view):
    def edit(p):
        run = p["puzzles"][0]["runs"][3]
        bt = next(e for e in run["events"] if e["kind"] == "backtrack")
        bt["token"] = (bt["token"] + 1) % 9

    with pytest.raises(ValueError, match=r"runs\[3\]\.events\[\d+\]\.cell: the branch cell"):
        html.validate_payload(_bad(view, edit))


def test_report_rows_are_checked(view):
    report = vp.report_payload(view["puzzles"][:1])
    del report["rows"][1]["accuracy"]
    with pytest.raises(ValueError, match=r"^rows\[1\]: missing field 'accuracy'"):
        html.report_html(report)
    report = vp.report_payload(view["puzzles"][:1])
    for key in ("p90_nfe", "puzzles_per_second", "speedup_nfe", "family"):
        del report["rows"][0][key]  # optional keys may be missing
    assert "bench-table" in html.static_text("view.js") and html.report_html(report)


def test_kind_must_match_the_function(view):
    with pytest.raises(ValueError, match="view_html needs kind 'view', got 'report'"):
        html.view_html(vp.report_payload(view["puzzles"][:1]))
    with pytest.raises(ValueError, match="report_html needs kind 'report', got 'view'"):
        html.report_html(view)
    with pytest.raises(ValueError, match="got 'list'"):
        html.view_html([])


def test_write_page_writes_nothing_when_invalid(tmp_path, view):
    out = tmp_path / "sub" / "view.html"
    with pytest.raises(ValueError):
        html.write_page(out, _bad(view, lambda p: _set(p, "version", 0)))
    assert not out.exists()
    html.write_page(out, view)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["view.html"]  # no temporaries left


def test_pick_puzzles_puts_failures_first(view):
    ok = [vp.sudoku_puzzle(s) for s in (3, 4, 5)]
    bad = vp.sudoku_puzzle(6, wrong_in=(vp.sampler_label(*vp.THRESHOLD),))
    picked = html.pick_puzzles([*ok, bad], per_label=1)
    assert picked[0]["id"] == bad["id"]
    assert len({p["id"] for p in picked}) == len(picked)


# --- package data ------------------------------------------------------------------------------


def test_static_files_ship_in_the_wheel(tmp_path):
    """Build a wheel from a copy of the sources; view.js and view.css are in it, and viz.html
    finds them when imported from the unpacked wheel (as after ``pip install``)."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pt", "*.egg-info")
    for name in ("puzzles", "models", "sampling", "viz"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "unmask_cli.py"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "--no-cache-dir", "-w", str(dist), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"viz/static/view.js", "viz/static/view.css"} <= names
        z.extractall(tmp_path / "site")
    probe = (
        "import viz.html as h, pathlib; "
        "assert 'site' in pathlib.Path(h.__file__).parts, h.__file__; "
        "print(len(h.static_text('view.js')), len(h.static_text('view.css')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    js, css = map(int, out.stdout.split())
    assert js == len(html.static_text("view.js")) and css == len(html.static_text("view.css"))
