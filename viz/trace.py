"""Pure functions from a sampler trace to what each animation frame shows.

Nothing here draws. A ``SampleResult`` (see ``sampling.step``) holds, per row, the final tokens,
the 1-based forward pass that revealed each cell (``reveal_step``, -1 for givens), the row's NFE
and the entropy / probability at reveal. Frame ``t`` of an animation shows the board after ``t``
forward passes: frame 0 is the puzzle (givens only), frame ``nfe`` the finished board, and the
cells highlighted in frame ``t`` are exactly those with ``reveal_step == t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.errors import UnmaskError

COLORS = ("entropy", "confidence")


@dataclass(frozen=True)
class RowTrace:
    """One row of a ``SampleResult`` as numpy arrays, checked for consistency.

    tokens:      (L,) int64, every cell filled.
    reveal_step: (L,) int64, 1-based pass that revealed the cell, -1 for givens.
    nfe:         forward passes this row used (== reveal_step.max(), 0 if nothing was masked
                 or ``--propagate`` completed it before its first pass: its cells then say 1).
    entropy:     (L,) float64, nats at reveal (nan for givens), or None.
    prob:        (L,) float64, probability of the placed value at reveal (nan for givens), or None.
    events:      the solve's events (``sampling.step.Event``) when the trace is a search's (or
                 was recorded with record "full"): passes, fills and the backtracks that took
                 cells back; None for a plain sampler's usual trace.
    """

    tokens: np.ndarray
    reveal_step: np.ndarray
    nfe: int
    entropy: np.ndarray | None
    prob: np.ndarray | None
    events: tuple | None = None

    @property
    def given(self) -> np.ndarray:
        """(L,) bool: cells that were given (never masked)."""
        return self.reveal_step < 0

    @property
    def num_masked(self) -> int:
        return int((self.reveal_step >= 1).sum())

    def color_values(self, color: str) -> np.ndarray:
        """(L,) float: the per-cell value the colour scale shows (nan for givens).

        ``entropy``: nats of the model's distribution when the cell was revealed.
        ``confidence``: probability of the value placed, at reveal.
        """
        if color not in COLORS:
            raise UnmaskError(
                f"unknown colour scale {color!r}; expected one of {', '.join(COLORS)}"
            )
        values = self.entropy if color == "entropy" else self.prob
        if values is None:
            raise UnmaskError(
                f"the sampler trace has no per-cell {'entropy' if color == 'entropy' else 'prob'}; "
                "sample with record=True to colour cells by it"
            )
        return np.where(self.given, np.nan, values)


def _numpy(x) -> np.ndarray | None:
    if x is None:
        return None
    if hasattr(x, "detach"):  # torch tensor -> numpy without importing torch here
        x = x.detach().cpu()
        if x.dtype.is_floating_point:
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def row_trace(result, row: int = 0) -> RowTrace:
    """Extract row ``row`` of a ``SampleResult`` (torch tensors or numpy arrays) as a ``RowTrace``.

    Raises ``ValueError`` when the trace is inconsistent (steps that skip a pass, NFE that does not
    match the last reveal), which is a sampler bug rather than a user error.
    """
    tokens = _numpy(result.tokens)
    reveal = _numpy(result.reveal_step)
    nfe_all = _numpy(result.nfe).reshape(-1)
    if tokens.ndim != 2 or reveal.shape != tokens.shape:
        raise ValueError(f"expected tokens and reveal_step of shape (B, L), got {tokens.shape}")
    if not 0 <= row < tokens.shape[0]:
        raise ValueError(f"row {row} out of range for a batch of {tokens.shape[0]}")
    reveal_row = reveal[row].astype(np.int64)
    nfe = int(nfe_all[row])
    if (reveal_row == 0).any() or (reveal_row < -1).any():
        raise ValueError("reveal_step must be -1 (given) or a 1-based forward pass")
    events = getattr(result, "events", None)
    events = None if events is None else tuple(events[row])
    last = int(reveal_row.max(initial=0))
    # a search may end on a repair; propagation may complete a row before its first pass
    if last != nfe and not (events is not None and last < nfe) and (nfe, last) != (0, 1):
        raise ValueError(f"row {row}: nfe={nfe} but the last reveal happened at pass {last}")
    entropy = _numpy(result.entropy)
    prob = _numpy(result.prob)
    return RowTrace(
        tokens=tokens[row].astype(np.int64),
        reveal_step=reveal_row,
        nfe=nfe,
        entropy=None if entropy is None else entropy[row].astype(np.float64),
        prob=None if prob is None else prob[row].astype(np.float64),
        events=events,
    )


@dataclass(frozen=True)
class FrameState:
    """What one frame of one board shows (all arrays (L,), row-major cells).

    step:        frame index (0 = the puzzle as given).
    nfe:         the row's total forward passes.
    values:      int64 token per cell, -1 where the cell is still masked.
    given:       bool, the puzzle's given cells (and maze walls, S, G).
    revealed:    bool, cells the sampler has filled by this step (givens excluded).
    highlighted: bool, cells revealed in exactly this step (``reveal_step == step``).
    score:       float, colour value (entropy or confidence at reveal) on revealed cells, nan elsewhere.
    passes:      forward passes done by this frame (== step for a plain sampler).
    retracted:   bool, cells a search took back in this frame (all False for a plain sampler).
    """

    step: int
    nfe: int
    values: np.ndarray
    given: np.ndarray
    revealed: np.ndarray
    highlighted: np.ndarray
    score: np.ndarray
    passes: int = -1
    retracted: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.passes < 0:
            object.__setattr__(self, "passes", self.step)
        if self.retracted is None:
            object.__setattr__(self, "retracted", np.zeros_like(self.given))

    @property
    def num_revealed(self) -> int:
        return int(self.revealed.sum())

    @property
    def num_masked(self) -> int:
        """Cells the sampler had to fill in total (not only those still masked)."""
        return int((~self.given).sum())


def state_at(trace: RowTrace, step: int, color: str | None = "entropy") -> FrameState:
    """The board of ``trace`` after ``step`` forward passes (clipped to ``[0, nfe]``)."""
    step = int(min(max(step, 0), trace.nfe))
    given = trace.given
    revealed = (trace.reveal_step >= 1) & (trace.reveal_step <= step)
    shown = given | revealed
    if color is None:
        score = np.full(trace.tokens.shape, np.nan)
    else:
        score = np.where(revealed, trace.color_values(color), np.nan)
    return FrameState(
        step=step,
        nfe=trace.nfe,
        values=np.where(shown, trace.tokens, -1),
        given=given,
        revealed=revealed,
        highlighted=trace.reveal_step == step if step >= 1 else np.zeros_like(given),
        score=score,
    )


def frame_states(result, row: int = 0, color: str | None = "entropy") -> list[FrameState]:
    """Every frame of one row's animation, holds excluded: ``nfe + 1`` states for steps 0..nfe.

    ``result`` is a ``SampleResult`` (or a ``RowTrace``); ``color`` picks the per-cell colour value
    (``"entropy"``, ``"confidence"`` or None for no colouring).
    """
    trace = result if isinstance(result, RowTrace) else row_trace(result, row)
    if trace.events is not None:
        return search_states(trace, color)
    return [state_at(trace, t, color) for t in range(trace.nfe + 1)]


def search_states(trace: RowTrace, color: str | None = "entropy") -> list[FrameState]:
    """The frames of a search trace: the puzzle, then one per event (a forward pass, or a
    backtrack that took cells back and tried another value)."""
    if color is not None and color not in COLORS:
        raise UnmaskError(f"unknown colour scale {color!r}; expected one of {', '.join(COLORS)}")
    given = trace.given
    states = [state_at(trace, 0, color)]
    for k, frame in enumerate(trace.events, start=1):
        revealed = (frame.values >= 0) & ~given
        values = np.where(given, trace.tokens, frame.values)
        if color is None:
            score = np.full(trace.tokens.shape, np.nan)
        else:
            score = np.where(revealed, frame.entropy if color == "entropy" else frame.prob, np.nan)
        states.append(
            FrameState(
                step=k,
                nfe=trace.nfe,
                values=values,
                given=given,
                revealed=revealed,
                highlighted=np.asarray(frame.revealed, dtype=bool),
                score=score,
                passes=frame.nfe,
                retracted=np.asarray(frame.retracted, dtype=bool),
            )
        )
    return states


def frame_steps(nfes, hold_frames: int = 0) -> np.ndarray:
    """The step each panel shows in each frame of a shared timeline: int array (F, P).

    ``F = max(nfes) + 1 + hold_frames``: one frame per forward pass of the longest run, the
    starting frame, and ``hold_frames`` repeats of the last. A panel whose run finished early holds
    its last step.
    """
    nfes = np.asarray(list(nfes), dtype=np.int64).reshape(-1)
    if nfes.size == 0:
        raise ValueError("need at least one panel")
    if hold_frames < 0:
        raise ValueError(f"hold_frames must be >= 0, got {hold_frames}")
    total = int(nfes.max())
    frame = np.minimum(np.arange(total + 1 + hold_frames), total)  # (F,)
    return np.minimum(frame[:, None], nfes[None, :])  # (F, P)
