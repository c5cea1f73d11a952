"""Frame data from sampler traces: what each animation frame shows, before any drawing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.errors import UnmaskError
from sampling.step import SampleResult
from viz.trace import frame_states, frame_steps, row_trace, state_at


def _check_frames(result, row=0):
    reveal = result.reveal_step[row].numpy()
    tokens = result.tokens[row].numpy()
    nfe = int(result.nfe[row])
    frames = frame_states(result, row)
    assert len(frames) == nfe + 1
    given = reveal == -1
    for t, frame in enumerate(frames):
        assert frame.step == t
        # The highlighted cells of frame t are exactly those revealed by pass t.
        np.testing.assert_array_equal(frame.highlighted, reveal == t)
        np.testing.assert_array_equal(frame.revealed, (reveal >= 1) & (reveal <= t))
        np.testing.assert_array_equal(frame.given, given)
        shown = given | frame.revealed
        np.testing.assert_array_equal(frame.values, np.where(shown, tokens, -1))
        # Scores exist exactly on revealed cells.
        np.testing.assert_array_equal(np.isfinite(frame.score), frame.revealed)
    assert not frames[0].revealed.any() and not frames[0].highlighted.any()
    assert frames[-1].revealed.sum() == (~given).sum()


def test_frames_of_sudoku_trace(sudoku_trace):
    _, result = sudoku_trace(9, seed=3, per_step=(1, 5))
    _check_frames(result)


def test_frames_of_maze_trace(maze_trace):
    _, result = maze_trace(seed=1)
    _check_frames(result)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=-1, max_value=6), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=3),
)
def test_frames_any_reveal_order(steps, seed):
    # Relabel the drawn steps to 1..nfe without gaps (a real trace reveals >= 1 cell per pass).
    raw = np.asarray(steps)
    used = np.unique(raw[raw >= 1])
    reveal = np.where(raw >= 1, np.searchsorted(used, raw) + 1, -1)
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, 4, size=len(reveal))
    entropy = np.where(reveal >= 1, rng.random(len(reveal)), np.nan)
    result = SampleResult(
        torch.as_tensor(tokens[None]),
        torch.as_tensor(reveal[None]),
        torch.tensor([len(used)]),
        torch.as_tensor(entropy[None]),
    )
    _check_frames(result)


def test_frame_colors_entropy_and_confidence(sudoku_trace):
    _, result = sudoku_trace(4, seed=0)
    trace = row_trace(result)
    last = state_at(trace, trace.nfe, "entropy")
    rev = last.revealed
    np.testing.assert_allclose(last.score[rev], result.entropy[0].numpy()[rev], rtol=1e-6)
    conf = state_at(trace, trace.nfe, "confidence")
    np.testing.assert_allclose(conf.score[rev], result.prob[0].numpy()[rev], rtol=1e-6)


def test_state_at_clips_to_the_run():
    reveal = np.array([-1, 1, 2, 2])
    result = SampleResult(
        torch.tensor([[0, 1, 2, 3]]), torch.as_tensor(reveal[None]), torch.tensor([2])
    )
    trace = row_trace(result)
    assert state_at(trace, 99, None).step == 2
    assert state_at(trace, -3, None).step == 0


def test_frame_steps_shared_timeline():
    steps = frame_steps([3, 7, 1], hold_frames=2)  # (F, P)
    assert steps.shape == (7 + 1 + 2, 3)
    np.testing.assert_array_equal(steps[0], [0, 0, 0])
    np.testing.assert_array_equal(steps[-1], [3, 7, 1])
    np.testing.assert_array_equal(steps[:, 0], [0, 1, 2, 3, 3, 3, 3, 3, 3, 3])
    assert (np.diff(steps, axis=0) >= 0).all()  # never goes back
    np.testing.assert_array_equal(steps[-3:], np.tile([3, 7, 1], (3, 1)))  # the hold


def test_frame_steps_bad_arguments():
    with pytest.raises(ValueError):
        frame_steps([], 0)
    with pytest.raises(ValueError):
        frame_steps([2], -1)


def test_row_trace_rejects_inconsistent_nfe():
    result = SampleResult(torch.tensor([[0, 1]]), torch.tensor([[1, 2]]), torch.tensor([3]))
    with pytest.raises(ValueError, match="nfe=3"):
        row_trace(result)


def test_row_trace_accepts_bfloat16_scores(sudoku_trace):
    _, result = sudoku_trace(4)
    result.entropy = result.entropy.to(torch.bfloat16)
    trace = row_trace(result)
    assert trace.entropy.dtype == np.float64


def test_missing_scores_are_a_user_error():
    result = SampleResult(torch.tensor([[0, 1]]), torch.tensor([[1, -1]]), torch.tensor([1]))
    with pytest.raises(UnmaskError, match="entropy"):
        frame_states(result, 0, "entropy")
    with pytest.raises(UnmaskError, match="colour scale"):
        frame_states(result, 0, "rainbow")
    assert len(frame_states(result, 0, None)) == 2
