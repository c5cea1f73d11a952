"""From recorded traces to the HTML viewer's payload (schema: ``docs/view-format.md``).

The sampler records, with ``record="full"``, one ``sampling.step.Event`` per forward pass, per
fill (cells the rules force) and per repair of a search. This module turns those events, the
puzzle and the validator's verdict into the JSON-able dicts that ``viz.html`` validates and
inlines; nothing here runs a sampler (``sampling.solve.trace_puzzle`` does).

How an ``Event`` maps to a payload event:

* ``kind`` and ``nfe`` as recorded;
* ``set``: the cells ``revealed`` by the event with their value after it (``values``); for a
  backtrack that includes the branch cell's next value and the cells of its pass put back to
  their first value;
* ``unset``: the cells ``retracted`` and not given a new value (masked again);
* a pass also gives ``order`` (the masked cells in the sampler's proxy order), ``proxy``,
  ``entropy`` (``cell_entropy``) and ``confidence``, and ``info`` for each revealed cell: its
  top-3 values (``top_tokens`` / ``top_probs``), entropy and probability at reveal, and, in a
  search, whether it became a branch point;
* a backtrack names its branch ``cell`` and the ``token`` tried now. A backtrack that changed
  nothing (the search found no untried value: it stops exhausted) is left out; the run's
  ``reason`` says so.
"""

from __future__ import annotations

import numpy as np

from puzzles.task import TaskSpec

#: what ``--color`` says -> the page's own name for it
PAGE_COLORS = {"entropy": "entropy", "confidence": "prob", "pass": "order"}
MAZE_SYMBOLS = [".", "*", "#", "S", "G"]  # OPEN, PATH (values), WALL, START, GOAL (context)


def renderer_name(spec: TaskSpec) -> str:
    """The page's renderer for ``spec``: "sudoku", "maze" or the generic "grid"."""
    from viz.renderers import MazeRenderer, SudokuRenderer, renderer_for

    renderer = renderer_for(spec)
    if isinstance(renderer, SudokuRenderer):
        return "sudoku"
    if isinstance(renderer, MazeRenderer):
        return "maze"
    return "grid"


def symbols(spec: TaskSpec, renderer: str) -> list[str]:
    """The text of every token a board can hold (values, then context such as maze walls)."""
    if renderer == "maze":
        return list(MAZE_SYMBOLS)
    from viz.renderers import renderer_for

    draw = renderer_for(spec)
    return [draw.label(spec, t) for t in range(spec.mask_id)]


def _cells(mask: np.ndarray) -> list[int]:
    return [int(c) for c in np.flatnonzero(mask)]


def _floats(x: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(x, dtype=np.float64)]


def event_payload(ev, search: bool) -> dict | None:
    """One ``Event`` as a payload event (see the module docstring); None for a backtrack that
    changed nothing."""
    revealed = np.asarray(ev.revealed, dtype=bool)
    retracted = np.asarray(ev.retracted, dtype=bool)
    values = np.asarray(ev.values)
    if ev.kind == "backtrack" and ev.cell is None:
        if revealed.any() or retracted.any():
            raise ValueError("a backtrack event that changes the board names no branch cell")
        return None
    set_cells = _cells(revealed)
    out = {
        "kind": ev.kind,
        "nfe": int(ev.nfe),
        "set": [[c, int(values[c])] for c in set_cells],
        "unset": _cells(retracted & ~revealed),
    }
    if ev.kind == "pass":
        if ev.order is None:
            raise ValueError('a pass event without its scores: trace with record="full"')
        out["order"] = [int(c) for c in ev.order]
        out["proxy"] = _floats(ev.proxy)
        out["entropy"] = _floats(ev.cell_entropy)
        out["confidence"] = _floats(ev.confidence)
        info = {}
        for i, c in enumerate(set_cells):  # top_tokens / top_probs are in cell order
            cell = {
                "top": [[int(t), float(p)] for t, p in zip(ev.top_tokens[i], ev.top_probs[i],
                                                            strict=True)],
                "entropy": float(ev.entropy[c]),
                "prob": float(ev.prob[c]),
            }  # fmt: skip
            if search:
                cell["branch"] = bool(ev.branch is not None and ev.branch[c])
            info[str(c)] = cell
        out["info"] = info
    elif ev.kind == "backtrack":
        out["cell"], out["token"] = int(ev.cell), int(ev.token)
    return out


def first_wrong(events: list[dict], final: list[int], solution: list[int] | None) -> int | None:
    """The cell whose final value differs from ``solution`` and that got that value first (event,
    then its place in the pass's proxy order): the sampler's first mistake."""
    if solution is None:
        return None
    when: dict[int, tuple[int, int]] = {}
    for k, ev in enumerate(events):
        rank = {c: i for i, c in enumerate(ev.get("order", ()))}
        for i, (cell, _) in enumerate(ev["set"]):
            when[cell] = (k, rank.get(cell, i))
        for cell in ev["unset"]:
            when.pop(cell, None)
    wrong = [c for c, t in enumerate(final) if t >= 0 and t != solution[c] and c in when]
    return min(wrong, key=lambda c: when[c]) if wrong else None


def run_payload(spec: TaskSpec, label: str, opts, result, outcome: str,
                solution: list[int] | None) -> dict:  # fmt: skip
    """One run of a puzzle: ``opts`` (``SolveOptions``) and the one-row ``SampleResult`` (or
    ``SearchResult``) that ``trace_puzzle(..., record="full")`` returned, with its verdict
    ("valid answer" or "invalid: <reason>")."""
    if result.events is None:
        raise ValueError('the result holds no events: trace with record="full"')
    search = opts.search_config(spec.task)
    events = [e for ev in result.events[0] if (e := event_payload(ev, search is not None))]
    tokens = result.tokens[0].cpu().numpy()
    final = [-1 if t == spec.mask_id else int(t) for t in tokens]
    valid = outcome == "valid answer"
    reason = None if valid else outcome.removeprefix("invalid: ")
    return {
        "label": label if search is None else f"{label}+{search['mode']}",
        "sampler": opts.sampler.config(),
        "search": search,
        "constrain": bool(opts.rules),
        "propagate": bool(opts.propagate),
        "nfe": int(result.nfe[0]),
        "valid": valid,
        "reason": reason,
        "first_wrong": None if valid else first_wrong(events, final, solution),
        "final": final,
        "events": events,
    }


def puzzle_payload(spec: TaskSpec, board: np.ndarray, traced: list, *, source: str, index: int,
                   solution: np.ndarray | None = None, pid: str | None = None) -> dict:  # fmt: skip
    """One puzzle of a page: the board (H, W) in the family's codes, its solution board when
    known, and ``traced``: [(label, SolveOptions, result, outcome)] as ``trace_puzzle`` gave
    them."""
    renderer = renderer_name(spec)
    tokens = spec.encode_puzzle(board[None])[0]
    sol = None if solution is None else [int(t) for t in spec.encode_solution(solution[None])[0]]
    return {
        "id": pid or f"{source}#{index}",
        "source": source,
        "index": int(index),
        "task": spec.task,
        "renderer": renderer,
        "height": spec.height,
        "width": spec.width,
        "box": int(round(spec.height**0.5)) if renderer == "sudoku" else None,
        "num_values": spec.num_values,
        "symbols": symbols(spec, renderer),
        "puzzle": [-1 if t == spec.mask_id else int(t) for t in tokens],
        "solution": sol,
        "runs": [run_payload(spec, label, opts, result, outcome, sol)
                 for label, opts, result, outcome in traced],  # fmt: skip
    }


def view_payload(puzzles: list[dict], title: str, color: str = "entropy") -> dict:
    """The payload of ``unmask view``: ``color`` is what the cells show first (``--color``)."""
    return {"kind": "view", "version": 1, "title": title, "color": PAGE_COLORS[color],
            "puzzles": puzzles}  # fmt: skip


def bench_row_for_page(row: dict) -> dict:
    """A bench row as the page takes it: numbers that are not finite (a throughput of inf when
    no time was measured) become null ("–" on the page)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        out[key] = value
    return out


def report_payload(rows: list[dict], puzzles: list[dict], title: str,
                   machine: str | None = None) -> dict:  # fmt: skip
    """The payload of ``unmask report``: bench rows and the puzzles to embed."""
    out = {"kind": "report", "version": 1, "title": title,
           "rows": [bench_row_for_page(r) for r in rows], "puzzles": puzzles}  # fmt: skip
    if machine:
        out["machine"] = machine
    return out
