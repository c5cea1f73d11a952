"""Self-contained HTML pages of solve/search traces (``view_html``) and of bench results
(``report_html``).

A page is ONE file: the viewer's script (``viz/static/view.js``), its style sheet
(``viz/static/view.css``) and the payload (JSON, schema in ``docs/view-format.md``) are inlined,
so it opens from disk (``file://``) with no server and no network. A Content-Security-Policy
lets only that script and that style sheet run, and lets nothing be fetched.

``validate_payload`` checks the payload's shape and raises ``ValueError`` naming the bad field
(``puzzles[0].runs[1].events[3].set[2]: ...``); ``compact_payload`` rounds its floats to four
significant digits and drops what the page can recompute; ``write_page`` writes a page atomically.
Nothing here runs a sampler: the payload is built from recorded traces.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import math
import os
from importlib import resources
from pathlib import Path

from puzzles.atomic import write_files

VERSION = 1
KINDS = ("view", "report")
RENDERERS = ("sudoku", "maze", "grid")
SAMPLER_NAMES = ("eb", "topk", "random", "threshold", "dus")
SEARCH_MODES = ("backtrack", "remask")
EVENT_KINDS = ("pass", "fill", "backtrack", "remask")
PASS_SCORES = ("proxy", "entropy", "confidence")
COLORS = ("entropy", "prob", "order")  # what the cells' colour shows first
SIGNIFICANT = 4  # digits kept of every float in a page


# --- static files ------------------------------------------------------------------------------


def static_text(name: str) -> str:
    """The text of ``viz/static/<name>`` (package data, so found after an install too)."""
    return resources.files("viz").joinpath("static", name).read_text(encoding="utf-8")


# --- validation --------------------------------------------------------------------------------


class _Check:
    """Raises ValueError with the path of the field being checked."""

    def __init__(self, path: str):
        self.path = path

    def at(self, key) -> _Check:
        if isinstance(key, int):
            return _Check(f"{self.path}[{key}]")
        return _Check(f"{self.path}.{key}" if self.path else key)

    def fail(self, message: str):
        raise ValueError(f"{self.path or 'payload'}: {message}")


def _field(obj: dict, key: str, where: _Check, optional: bool = False):
    if key not in obj:
        if optional:
            return None
        where.fail(f"missing field {key!r}")
    return obj[key]


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) and math.isfinite(x)


def _int(x, where: _Check, lo: int | None = None, hi: int | None = None, none: bool = False):
    if x is None and none:
        return None
    if not _is_int(x):
        where.fail(f"expected an integer{' or null' if none else ''}, got {x!r}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        where.fail(f"{x} is out of range ({rng})")
    return x


def _num(x, where: _Check, none: bool = False):
    if x is None and none:
        return None
    if not _is_num(x):
        where.fail(f"expected a finite number{' or null' if none else ''}, got {x!r}")
    return x


def _str(x, where: _Check, none: bool = False):
    if x is None and none:
        return None
    if not isinstance(x, str):
        where.fail(f"expected a string{' or null' if none else ''}, got {type(x).__name__}")
    return x


def _bool(x, where: _Check):
    if not isinstance(x, bool):
        where.fail(f"expected true or false, got {x!r}")
    return x


def _list(x, where: _Check, length: int | None = None) -> list:
    if not isinstance(x, list):
        where.fail(f"expected a list, got {type(x).__name__}")
    if length is not None and len(x) != length:
        where.fail(f"expected {length} entries, got {len(x)}")
    return x


def _dict(x, where: _Check) -> dict:
    if not isinstance(x, dict):
        where.fail(f"expected an object, got {type(x).__name__}")
    return x


def _choice(x, where: _Check, choices: tuple[str, ...]):
    if x not in choices:
        where.fail(f"expected one of {', '.join(choices)}, got {x!r}")
    return x


def validate_payload(payload) -> None:
    """Check a page payload (schema version 1, ``docs/view-format.md``); ``ValueError`` naming
    the first bad field. Beyond types and ranges it folds every run's events: a pass adds one to
    ``nfe`` and other events none, cells set are cells to fill, a pass's ``order`` holds only
    cells masked before it, and the board after the last event agrees with ``final``."""
    top = _Check("")
    _dict(payload, top)
    kind = _choice(_field(payload, "kind", top), top.at("kind"), KINDS)
    version = _field(payload, "version", top)
    if version != VERSION:
        top.at("version").fail(f"this page reads version {VERSION}, got {version!r}")
    _str(_field(payload, "title", top), top.at("title"))
    if "color" in payload:
        _choice(payload["color"], top.at("color"), COLORS)
    puzzles = _list(_field(payload, "puzzles", top), top.at("puzzles"))
    if kind == "view" and not puzzles:
        top.at("puzzles").fail("a view needs at least one puzzle")
    if kind == "report":
        _str(_field(payload, "machine", top, optional=True) or "", top.at("machine"))
        rows = _list(_field(payload, "rows", top), top.at("rows"))
        for i, row in enumerate(rows):
            _bench_row(row, top.at("rows").at(i))
    ids = set()
    for i, puzzle in enumerate(puzzles):
        where = top.at("puzzles").at(i)
        _puzzle(puzzle, where)
        if puzzle["id"] in ids:
            where.at("id").fail(f"{puzzle['id']!r} is used by another puzzle of the page")
        ids.add(puzzle["id"])


def check_bench_row(row, name: str = "row") -> None:
    """Check one bench row as a report page shows it; ``ValueError`` naming the bad field
    (``row 3.n: ...``, ``name`` being "row 3")."""
    _bench_row(row, _Check(name))


def _bench_row(row, where: _Check) -> None:
    _dict(row, where)
    _str(_field(row, "sampler", where), where.at("sampler"))
    for key in ("n", "solved"):
        _int(_field(row, key, where), where.at(key), lo=0)
    for key in ("accuracy", "mean_nfe"):
        _num(_field(row, key, where), where.at(key))
    for key in ("median_nfe", "p90_nfe", "max_nfe", "speedup_nfe", "puzzles_per_second"):
        if key in row:
            _num(row[key], where.at(key), none=True)


def _puzzle(p, where: _Check) -> None:
    _dict(p, where)
    _str(_field(p, "id", where), where.at("id"))
    _str(_field(p, "source", where), where.at("source"))
    _int(_field(p, "index", where), where.at("index"), lo=0)
    _str(_field(p, "task", where), where.at("task"))
    renderer = _choice(_field(p, "renderer", where), where.at("renderer"), RENDERERS)
    h = _int(_field(p, "height", where), where.at("height"), lo=1)
    w = _int(_field(p, "width", where), where.at("width"), lo=1)
    box = _int(_field(p, "box", where), where.at("box"), lo=1, none=True)
    if renderer == "sudoku" and (box is None or h != w or box * box != h):
        where.at("box").fail(f"a sudoku of {h}x{w} needs box with box*box == side, got {box!r}")
    nv = _int(_field(p, "num_values", where), where.at("num_values"), lo=1)
    symbols = _list(_field(p, "symbols", where), where.at("symbols"))
    if len(symbols) < nv:
        where.at("symbols").fail(f"needs at least num_values={nv} entries, got {len(symbols)}")
    for i, s in enumerate(symbols):
        _str(s, where.at("symbols").at(i))
    L, V = h * w, len(symbols)
    puzzle = _list(_field(p, "puzzle", where), where.at("puzzle"), L)
    for i, t in enumerate(puzzle):
        _int(t, where.at("puzzle").at(i), lo=-1, hi=V - 1)
    solution = _field(p, "solution", where)
    if solution is not None:
        _list(solution, where.at("solution"), L)
        for i, t in enumerate(solution):
            _int(t, where.at("solution").at(i), lo=0, hi=V - 1)
    runs = _list(_field(p, "runs", where), where.at("runs"))
    for i, run in enumerate(runs):
        _run(run, where.at("runs").at(i), puzzle, nv, V)


def _run(run, where: _Check, puzzle: list[int], nv: int, V: int) -> None:
    _dict(run, where)
    L = len(puzzle)
    _str(_field(run, "label", where), where.at("label"))
    sampler = _dict(_field(run, "sampler", where), where.at("sampler"))
    name = _choice(_field(sampler, "name", where.at("sampler")), where.at("sampler.name"),
                   SAMPLER_NAMES)  # fmt: skip
    knobs = {"eb": ("gamma",), "topk": ("k",), "random": ("k",), "threshold": ("tau",)}
    for knob in knobs.get(name, ()):
        value = _field(sampler, knob, where.at("sampler"))
        if knob == "k":
            _int(value, where.at("sampler").at(knob), lo=1)
        else:
            _num(value, where.at("sampler").at(knob))
    if "proxy" in sampler:
        _str(sampler["proxy"], where.at("sampler").at("proxy"))
    search = _field(run, "search", where)
    if search is not None:
        s = where.at("search")
        _dict(search, s)
        _choice(_field(search, "mode", s), s.at("mode"), SEARCH_MODES)
        _num(_field(search, "branch_entropy", s), s.at("branch_entropy"))
        _int(_field(search, "max_nfe", s, optional=True), s.at("max_nfe"), lo=1, none=True)
    for key in ("constrain", "propagate", "valid"):
        _bool(_field(run, key, where), where.at(key))
    nfe = _int(_field(run, "nfe", where), where.at("nfe"), lo=0)
    _str(_field(run, "reason", where), where.at("reason"), none=True)
    _int(_field(run, "first_wrong", where), where.at("first_wrong"), lo=0, hi=L - 1, none=True)
    final = _list(_field(run, "final", where), where.at("final"), L)
    for i, t in enumerate(final):
        _int(t, where.at("final").at(i), lo=-1, hi=V - 1)
    events = _list(_field(run, "events", where), where.at("events"))
    board = list(puzzle)
    done = 0  # forward passes so far
    for k, ev in enumerate(events):
        done = _event(ev, where.at("events").at(k), board, puzzle, nv, done)
    if done != nfe:
        where.at("nfe").fail(f"{nfe} but the events count {done} forward passes")
    for i, (shown, answer) in enumerate(zip(board, final, strict=True)):
        if shown >= 0 and shown != answer:
            where.at("final").at(i).fail(
                f"{answer} but the board after the last event holds {shown} there"
            )


def _event(ev, where: _Check, board: list[int], puzzle: list[int], nv: int, done: int) -> int:
    """Check one event against the board before it, fold it in; returns the passes done."""
    _dict(ev, where)
    L = len(board)
    kind = _choice(_field(ev, "kind", where), where.at("kind"), EVENT_KINDS)
    nfe = _int(_field(ev, "nfe", where), where.at("nfe"), lo=0)
    want = done + 1 if kind == "pass" else done
    if nfe != want:
        what = "a pass adds one forward pass" if kind == "pass" else f"a {kind} runs no pass"
        where.at("nfe").fail(f"expected {want} ({what}; {done} before it), got {nfe}")
    sets = _list(_field(ev, "set", where), where.at("set"))
    unset = _list(_field(ev, "unset", where), where.at("unset"))
    cells_set = set()
    for i, pair in enumerate(sets):
        w = where.at("set").at(i)
        if not isinstance(pair, list) or len(pair) != 2:
            w.fail(f"expected [cell, token], got {pair!r}")
        cell = _int(pair[0], w.at(0), lo=0, hi=L - 1)
        _int(pair[1], w.at(1), lo=0, hi=nv - 1)
        if puzzle[cell] >= 0:
            w.fail(f"cell {cell} is given in the puzzle; only cells to fill change")
        if cell in cells_set:
            w.fail(f"cell {cell} is set twice by one event")
        cells_set.add(cell)
    for i, cell in enumerate(unset):
        _int(cell, where.at("unset").at(i), lo=0, hi=L - 1)
        if puzzle[cell] >= 0:
            where.at("unset").at(i).fail(f"cell {cell} is given in the puzzle")
    if kind == "pass":
        for cell in cells_set:
            if board[cell] >= 0:
                where.at("set").fail(f"a pass sets cell {cell}, which is not masked before it")
        order = _list(_field(ev, "order", where), where.at("order"))
        seen = set()
        for i, cell in enumerate(order):
            _int(cell, where.at("order").at(i), lo=0, hi=L - 1)
            if board[cell] >= 0 or cell in seen:
                where.at("order").at(i).fail(
                    f"cell {cell} is {'listed twice' if cell in seen else 'not masked before the pass'}"
                )
            seen.add(cell)
        for key in PASS_SCORES:
            values = _field(ev, key, where, optional=True)
            if values is not None:
                _list(values, where.at(key), len(order))
                for i, x in enumerate(values):
                    _num(x, where.at(key).at(i))
        info = _field(ev, "info", where, optional=True)
        if info is not None:
            _info(info, where.at("info"), L, nv)
    elif kind == "fill":
        info = _field(ev, "info", where, optional=True)
        if info is not None:
            _info(info, where.at("info"), L, nv)
    elif kind == "backtrack":
        cell = _int(_field(ev, "cell", where), where.at("cell"), lo=0, hi=L - 1)
        token = _int(_field(ev, "token", where), where.at("token"), lo=0, hi=nv - 1)
        if [cell, token] not in sets:
            where.at("cell").fail(f"the branch cell {cell} with token {token} is not in set")
    for cell, token in sets:
        board[cell] = token
    for cell in unset:
        board[cell] = -1
    return nfe


def _info(info, where: _Check, L: int, nv: int) -> None:
    _dict(info, where)
    for key, cell_info in info.items():
        w = where.at(key)
        if not (isinstance(key, str) and key.isdigit() and int(key) < L):
            w.fail(f"keys are cell indices 0..{L - 1} as strings, got {key!r}")
        _dict(cell_info, w)
        top = _list(_field(cell_info, "top", w), w.at("top"))
        for i, pair in enumerate(top):
            if not isinstance(pair, list) or len(pair) != 2:
                w.at("top").at(i).fail(f"expected [token, prob], got {pair!r}")
            _int(pair[0], w.at("top").at(i).at(0), lo=0, hi=nv - 1)
            _num(pair[1], w.at("top").at(i).at(1))
        _num(_field(cell_info, "entropy", w), w.at("entropy"))
        _num(_field(cell_info, "prob", w), w.at("prob"))
        if "branch" in cell_info:
            _bool(cell_info["branch"], w.at("branch"))


# --- compaction --------------------------------------------------------------------------------


_EXACT = ("sampler", "search")  # a rule's knobs (gamma, tau, branch_entropy) are never rounded


def _round(x, digits: int = SIGNIFICANT):
    if isinstance(x, float):
        return float(f"{x:.{digits}g}") if math.isfinite(x) else x
    if isinstance(x, list):
        return [_round(v, digits) for v in x]
    if isinstance(x, dict):
        return {k: copy.deepcopy(v) if k in _EXACT else _round(v, digits) for k, v in x.items()}
    return x


def compact_payload(payload: dict, digits: int = SIGNIFICANT) -> dict:
    """A copy of a valid payload with every float rounded to ``digits`` significant digits (but a
    run's ``sampler`` and ``search`` knobs, which the page's rules use as given) and,
    in each pass, ``proxy`` dropped where it equals what the page derives without it
    (``entropy`` for proxy=entropy, minus ``confidence`` for proxy=confidence)."""
    out = _round(payload, digits)
    for puzzle in out["puzzles"]:
        for run in puzzle["runs"]:
            proxy = run["sampler"].get("proxy", "entropy")
            for ev in run["events"]:
                if ev["kind"] != "pass" or "proxy" not in ev:
                    continue
                if proxy == "entropy":
                    derived = ev.get("entropy")
                elif proxy == "confidence" and "confidence" in ev:
                    derived = [_round(-c, digits) for c in ev["confidence"]]
                else:
                    derived = None
                if derived is not None and derived == ev["proxy"]:
                    del ev["proxy"]
    return out


# --- the page ----------------------------------------------------------------------------------


def payload_json(payload: dict) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    (so no ``</script>`` and no ``<!--``) and U+2028/U+2029 are written as \\u escapes, which
    JSON.parse reads back unchanged."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def page_html(payload: dict) -> str:
    """The page of a valid payload of either kind (see ``view_html`` and ``report_html``)."""
    validate_payload(payload)
    script, style = static_text("view.js"), static_text("view.css")
    for name, text, closing in (("view.js", script, "</script"), ("view.css", style, "</style")):
        if closing in text.lower() or "<!--" in text:
            raise RuntimeError(f"viz/static/{name} may not contain {closing} or <!--")
    data = payload_json(compact_payload(payload))
    # Only this script and this style sheet may run; nothing may be fetched (not even images).
    csp = (
        f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = (
        html.escape(payload["title"]).replace("\u2028", "&#x2028;").replace("\u2029", "&#x2029;")
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n"
        f"<style>{style}</style>\n</head>\n"
        f'<body data-kind="{payload["kind"]}">\n'
        '<main id="app"><noscript>This page needs JavaScript to draw the boards.</noscript></main>\n'
        f'<script type="application/json" id="unmask-payload">{data}</script>\n'
        f"<script>{script}</script>\n"
        "</body>\n</html>\n"
    )


def view_html(payload: dict) -> str:
    """One HTML file that replays the traces of ``payload`` (``kind: "view"``)."""
    if not isinstance(payload, dict) or payload.get("kind") != "view":
        raise ValueError(f"kind: view_html needs kind 'view', got {_kind_of(payload)!r}")
    return page_html(payload)


def report_html(payload: dict) -> str:
    """One HTML file with the bench table, the accuracy-against-NFE chart and the embedded views
    of ``payload`` (``kind: "report"``)."""
    if not isinstance(payload, dict) or payload.get("kind") != "report":
        raise ValueError(f"kind: report_html needs kind 'report', got {_kind_of(payload)!r}")
    return page_html(payload)


def _kind_of(payload) -> object:
    return payload.get("kind") if isinstance(payload, dict) else type(payload).__name__


def write_page(path: str | os.PathLike, payload: dict) -> Path:
    """Validate ``payload``, render its page (either kind) and write it to ``path`` atomically
    (``puzzles.atomic.write_files``: nothing is written when validation fails)."""
    text = page_html(payload)
    write_files({path: text})
    return Path(path)


def pick_puzzles(puzzles: list[dict], per_label: int = 2) -> list[dict]:
    """Puzzles to embed in a report: for each run label, up to ``per_label`` puzzles, those whose
    run of that label failed first (then in the given order). Each puzzle appears once."""
    picked: dict[str, dict] = {}
    labels = list(dict.fromkeys(r["label"] for p in puzzles for r in p["runs"]))
    for label in labels:
        having = [(p, r) for p in puzzles for r in p["runs"] if r["label"] == label]
        having.sort(key=lambda pr: pr[1]["valid"])  # stable: failures first
        for p, _ in having[:per_label]:
            picked.setdefault(p["id"], p)
    failed = [p for p in picked.values() if any(not r["valid"] for r in p["runs"])]
    return failed + [p for p in picked.values() if p not in failed]
