"""Search with the validator in the loop (``sampling.search``): completeness, exact NFE, budgets,
batched equals row-by-row, and --constrain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from puzzles import maze, sudoku
from puzzles.task import Task, TaskSpec, check_answers, get_task, register_task
from sampling.samplers import (
    DUSSampler,
    EBSampler,
    RandomSampler,
    ThresholdSampler,
    TopKSampler,
)
from sampling.search import EXHAUSTED, OVER_BUDGET, SOLVED, Search

SAMPLERS = [
    EBSampler(0.01),
    EBSampler(1.0),
    TopKSampler(1),
    TopKSampler(3, "margin"),
    RandomSampler(2),
    ThresholdSampler(0.9),
    DUSSampler(),
    DUSSampler(two_d=True),
]
IDS = [repr(s) for s in SAMPLERS]


class Counting:
    """Counts the rows of every forward pass."""

    def __init__(self, model):
        self.model, self.rows = model, 0

    def __call__(self, tokens):
        self.rows += tokens.shape[0]
        return self.model(tokens)


@pytest.fixture(scope="module")
def sudoku4():
    """30 uniquely solvable 4x4 puzzles and their spec."""
    puzzles, _, _ = sudoku.generate_many(30, seed=77, box=2, workers=1, progress=False)
    spec = get_task("sudoku").spec(4)
    return spec, puzzles, torch.from_numpy(spec.encode_puzzle(puzzles))


def _check(spec, puzzles, res, complete: bool):
    reasons = check_answers(spec, puzzles, res.tokens)
    solved = res.status == SOLVED
    # never an invalid answer called solved, never a valid one called failed
    assert all((r is None) == bool(s) for r, s in zip(reasons, solved.tolist(), strict=True))
    if complete:
        assert solved.all(), [r for r in reasons if r][:3]
    given = torch.from_numpy(spec.encode_puzzle(puzzles)) != spec.mask_id
    assert torch.equal(res.tokens[given], torch.from_numpy(spec.encode_puzzle(puzzles))[given])


@pytest.mark.parametrize("sampler", SAMPLERS, ids=IDS)
def test_backtrack_with_the_exact_oracle_solves_every_unique_puzzle(sampler, oracle, sudoku4):
    spec, puzzles, tokens = sudoku4
    model = Counting(oracle)
    res = Search("backtrack", branch_entropy=0.0, max_nfe=None).run(
        model, sampler, spec, tokens, row_seeds=torch.arange(30)
    )
    _check(spec, puzzles, res, complete=True)
    assert int(res.nfe.sum()) == model.rows  # every forward pass of every row is counted


@pytest.fixture(scope="module")
def bad(toy_model):
    """bad(seed): a state-dependent 4x4 Sudoku model that is mostly wrong (never entropy 0)."""
    return lambda seed=3: toy_model(L=16, V=4, vocab=5, seed=seed)


BAD = [0, 2, 3, 4]  # EB at gamma 1 with a mostly wrong model explores a large tree: left out


@pytest.mark.parametrize("sampler", [SAMPLERS[i] for i in BAD], ids=[IDS[i] for i in BAD])
def test_backtrack_with_a_bad_model_still_solves_every_unique_puzzle(sampler, sudoku4, bad):
    spec, puzzles, tokens = sudoku4
    model = Counting(bad())
    single = sampler.sample(model.model, tokens, spec.mask_id, row_seeds=torch.arange(30))
    single_ok = sum(r is None for r in check_answers(spec, puzzles, single.tokens))
    res = Search("backtrack", branch_entropy=0.0, max_nfe=None).run(
        model, sampler, spec, tokens, row_seeds=torch.arange(30)
    )
    _check(spec, puzzles, res, complete=True)
    assert single_ok < 30 and int(res.backtracks.sum()) > 0  # the model alone fails some
    assert int(res.nfe.sum()) == model.rows


def test_backtrack_solves_every_3x3_maze_with_a_bad_model(toy_model):
    spec = get_task("maze").spec(3)
    puzzles, _, _ = maze.generate_many(40, seed=21, h=3, w=3, workers=1, progress=False)
    puzzles = np.concatenate(
        [puzzles, maze.generate_many(20, 22, 3, extra_openings=0.5, workers=1, progress=False)[0]]
    )
    tokens = torch.from_numpy(spec.encode_puzzle(puzzles))
    model = Counting(toy_model(L=49, V=2, vocab=6, seed=5))
    res = Search("backtrack", branch_entropy=0.0, max_nfe=None).run(
        model, EBSampler(0.1), spec, tokens
    )
    _check(spec, puzzles, res, complete=True)
    assert int(res.nfe.sum()) == model.rows


def test_an_unsolvable_puzzle_is_exhausted_never_solved(oracle):
    spec = get_task("sudoku").spec(4)
    # givens that clash nowhere yet leave cell r1c1 with no digit: 1 2 in row 1, 3 and 4 below
    board = np.zeros((1, 4, 4), dtype=np.int8)
    board[0, 0, 2], board[0, 0, 3], board[0, 1, 0], board[0, 2, 0] = 1, 2, 3, 4
    tokens = torch.from_numpy(spec.encode_puzzle(board))
    for mode in ("backtrack", "remask"):
        res = Search(mode, 0.0, max_nfe=50).run(oracle, EBSampler(0.1), spec, tokens)
        # the givens already leave r1c1 no digit: no pass is made, nothing can be tried
        assert int(res.status[0]) == EXHAUSTED and int(res.nfe[0]) == 0


def test_budget_is_respected_and_counted(sudoku4, bad):
    spec, puzzles, tokens = sudoku4
    res = Search("backtrack", 0.0, max_nfe=6).run(bad(), TopKSampler(1), spec, tokens)
    assert (res.nfe <= 6).all()
    over = res.status == OVER_BUDGET
    assert over.any() and (res.nfe[over] == 6).all()
    _check(spec, puzzles, res, complete=False)


@pytest.mark.parametrize("mode", ["backtrack", "remask"])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_batched_search_equals_row_by_row(mode, temperature, sudoku4, bad):
    spec, _, tokens = sudoku4
    model = bad(seed=8)
    seeds = torch.arange(100, 130)
    search = Search(mode, 0.05, max_nfe=40)
    batch = search.run(model, EBSampler(0.3), spec, tokens, temperature=temperature,
                       row_seeds=seeds)  # fmt: skip
    for b in range(0, 30, 7):
        one = search.run(model, EBSampler(0.3), spec, tokens[b : b + 1], temperature=temperature,
                         row_seeds=seeds[b : b + 1])  # fmt: skip
        for name in ("tokens", "reveal_step", "nfe", "status", "branch_points", "backtracks"):
            assert torch.equal(getattr(batch, name)[b : b + 1], getattr(one, name)), (b, name)


def test_remask_never_returns_an_invalid_answer_and_helps(sudoku4, bad):
    spec, puzzles, tokens = sudoku4
    model = bad()
    single = EBSampler(0.01).sample(model, tokens, spec.mask_id)
    res = Search("remask", max_nfe=60).run(model, EBSampler(0.01), spec, tokens)
    _check(spec, puzzles, res, complete=False)
    alone = sum(r is None for r in check_answers(spec, puzzles, single.tokens))
    assert int((res.status == SOLVED).sum()) > alone and int(res.backtracks.sum()) > 0


def test_constrain_gives_forced_cells_zero_entropy():
    """A model that knows nothing (uniform logits): with --constrain the cells the rules force
    have entropy 0, and EB at gamma 0 takes them all in its first pass."""
    spec = get_task("sudoku").spec(4)
    board = np.array([[[1, 2, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]], dtype=np.int8)
    tokens = torch.from_numpy(spec.encode_puzzle(board))

    def uniform(t):
        return torch.zeros(*t.shape, 4)

    from sampling.solve import constrainer

    res = EBSampler(0.0).sample(uniform, tokens, spec.mask_id, constrain=constrainer(spec))
    assert int(res.reveal_step[0, 3]) == 1 and float(res.entropy[0, 3]) == 0.0  # r1c4 is 4
    assert int(res.tokens[0, 3]) == 3
    plain = EBSampler(0.0).sample(uniform, tokens, spec.mask_id)
    assert float(plain.entropy[0, 3]) > 1.0  # the model alone hesitates everywhere


def test_propagate_fills_forced_cells_before_the_pass_and_without_one():
    """--propagate fills what the rules force before the model is called: a 4x4 Sudoku with one
    blank is completed at NFE 0 (no forward pass at all), and on a board with forced and free
    cells the first pass already sees the forced cells filled (plain --constrain does not)."""
    spec = get_task("sudoku").spec(4)
    solution = np.array([[[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]]], dtype=np.int8)
    one_blank = solution.copy()
    one_blank[0, 0, 3] = 0
    seen = []

    def uniform(t):
        seen.append(t.clone())
        return torch.zeros(*t.shape, 4)

    from sampling.solve import constrainer

    tokens = torch.from_numpy(spec.encode_puzzle(one_blank))
    for run in (
        lambda: EBSampler(0.0).sample(
            uniform, tokens, spec.mask_id, constrain=constrainer(spec), propagate=True
        ),
        lambda: Search("backtrack").run(uniform, EBSampler(0.0), spec, tokens, propagate=True),
    ):
        res = run()
        assert int(res.nfe[0]) == 0 and not seen  # solved by the rules, no forward pass
        assert int(res.tokens[0, 3]) == 3 and int(res.reveal_step[0, 3]) == 1  # r1c4 is 4
    # r1c4 is forced (3 clues in its row); the rest of the board is free.
    board = np.array([[[1, 2, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]], dtype=np.int8)
    tokens = torch.from_numpy(spec.encode_puzzle(board))
    for run in (
        lambda: EBSampler(0.0).sample(
            uniform, tokens, spec.mask_id, constrain=constrainer(spec), propagate=True
        ),
        lambda: Search("backtrack").run(
            uniform, EBSampler(0.0), spec, tokens, propagate=True, record=True
        ),
    ):
        seen.clear()
        res = run()
        assert int(seen[0][0, 3]) == 3  # the first forward pass saw r1c4 filled
        assert int(res.reveal_step[0, 3]) == 1 and float(res.entropy[0, 3]) == 0.0
        assert int(res.nfe[0]) == int(res.reveal_step[0].max())
    seen.clear()
    EBSampler(0.0).sample(uniform, tokens, spec.mask_id, constrain=constrainer(spec))
    assert int(seen[0][0, 3]) == spec.mask_id  # --constrain alone: revealed in the pass
    with pytest.raises(ValueError, match="propagate needs constrain"):
        EBSampler(0.0).sample(uniform, tokens, spec.mask_id, propagate=True)


def test_bench_percent_never_rounds_a_failure_up_to_100():
    from sampling.bench import percent

    assert percent(1999, 2000) == "99.95%" and percent(9999, 10000) == "99.99%"
    assert percent(2000, 2000) == "100.0%" and percent(1640, 2000) == "82.0%"


# --- hand-traced searches on a two-cell toy family -----------------------------------------------


class _PairTask(Task):
    """Two cells with values {0, 1}; the only valid answer is [1, 1]. No partial rules, so the
    search learns of a mistake only from the validator, on a complete board."""

    name = "pair_toy"
    default_size = 1

    def spec(self, size):
        return TaskSpec("pair_toy", 1, 2, num_values=2, mask_id=2, vocab_size=3)

    def size_of(self, height, width):
        return 1

    def encode_puzzle(self, spec, boards):
        return np.full((len(boards), 2), 2, dtype=np.int64)

    def decode(self, spec, tokens):
        return np.asarray(tokens).reshape(-1, 1, 2)

    def check_answer(self, puzzle, answer):
        return None if answer.tolist() == [[1, 1]] else f"{answer.tolist()} is not [[1, 1]]"


def _constant(logits_per_cell):
    """A model whose logits never depend on the board: (L, V) for every row."""
    table = torch.tensor(logits_per_cell, dtype=torch.float32).log()

    def model(tokens):
        return table.expand(tokens.shape[0], -1, -1)

    return model


def test_backtrack_undoes_later_passes_and_counts_every_pass():
    """Cell 1 is nearly sure of 0 and cell 0 leans to 0: both wrong. Pass 1 reveals cell 1 = 0,
    pass 2 cell 0 = 0; [0, 0] fails, cell 0 tries 1: [1, 0] fails, cell 0 is spent, so the
    search goes back to cell 1 = 1 and undoes pass 2; pass 3 reveals cell 0 = 0 again: [0, 1]
    fails, cell 0 tries 1: [1, 1]. Three passes, three backtracks, three branch points."""
    spec = register_task(_PairTask()).spec(1)
    model = _constant([[0.7, 0.3], [0.99, 0.01]])
    tokens = torch.full((1, 2), spec.mask_id)
    res = Search("backtrack", 0.0, max_nfe=None).run(model, TopKSampler(1), spec, tokens,
                                                     record=True)  # fmt: skip
    assert res.tokens.tolist() == [[1, 1]] and int(res.status[0]) == SOLVED
    assert int(res.nfe[0]) == 3 and int(res.backtracks[0]) == 3 and int(res.branch_points[0]) == 3
    assert res.reveal_step.tolist() == [[3, 1]]  # cell 0's final value came from pass 3
    kinds = [(e.kind, e.nfe, e.values.tolist()) for e in res.events[0]]
    assert kinds == [("pass", 1, [-1, 0]), ("pass", 2, [0, 0]), ("backtrack", 2, [1, 0]),
                     ("backtrack", 2, [-1, 1]), ("pass", 3, [0, 1]), ("backtrack", 3, [1, 1])]  # fmt: skip
    # with a budget of two passes the same search stops after pass 2's repairs
    short = Search("backtrack", 0.0, max_nfe=2).run(model, TopKSampler(1), spec, tokens)
    assert int(short.status[0]) == OVER_BUDGET and int(short.nfe[0]) == 2


def test_search_takes_its_error_proxies_from_the_untempered_distribution():
    """Cell 1 is at 0.1% on its wrong value's rival: untempered entropy 0.008 nats, under the
    branch entropy, so it is no branch point however hot the draw; tempered at T = 50 its
    entropy would be near log 2 and it would be one. Cell 0 is a coin flip either way."""
    spec = register_task(_PairTask()).spec(1)
    model = _constant([[0.5, 0.5], [0.999, 0.001]])
    tokens = torch.full((1, 2), spec.mask_id)
    H = torch.special.entr(torch.tensor([[0.5, 0.5], [0.999, 0.001]])).sum(-1)  # (2,)
    for temperature in (0.0, 50.0):
        res = Search("backtrack", 0.02, max_nfe=20).run(
            model, EBSampler(0.0), spec, tokens, temperature=temperature,
            row_seeds=torch.tensor([5]), record=True,
        )  # fmt: skip
        first = res.events[0][0]
        revealed = np.flatnonzero(first.revealed)
        assert torch.allclose(torch.from_numpy(first.entropy[revealed]), H[revealed])
        assert not first.branch[1] if 1 in revealed else True
        if int(res.tokens[0, 1]) == 0:  # cell 1 drew its 0.999 value: wrong, and not a branch
            assert int(res.status[0]) == EXHAUSTED


class _Empty(TopKSampler):
    """A sampler whose selection is always empty (a plan step emptied by a backtrack)."""

    def select(self, stats, masked, step, plan):
        return torch.zeros_like(masked)


def test_an_empty_selection_reveals_the_most_certain_masked_cell(sudoku4, oracle):
    from sampling.stats import CellStats
    from sampling.step import unmask_step

    logits = torch.tensor([[[0.0, 0.0], [3.0, 0.0], [1.0, 0.0]]]).log_softmax(-1)  # (1, 3, 2)
    masked = torch.tensor([[True, False, True]])
    out = unmask_step(_Empty(), logits, masked, step=1, draw_step=1)
    H = CellStats(logits).entropy[0]
    assert out.chosen.tolist() == [[False, False, True]] and H[2] < H[0]  # not the unmasked cell
    spec, puzzles, tokens = sudoku4
    res = Search("backtrack", 0.0, max_nfe=None).run(oracle, _Empty(), spec, tokens[:6])
    assert (res.status == SOLVED).all()
    assert torch.equal(res.nfe, (tokens[:6] == spec.mask_id).sum(1))  # one cell per pass


def test_a_row_spent_at_the_family_threshold_starts_again_at_threshold_0():
    """At branch entropy 0.1 cell 1 (0.008 nats on its wrong 0) is no branch point: pass 1
    reveals it, pass 2 cell 0 = 0; [0, 0] and [1, 0] fail and nothing is left to try. With
    ``restart`` the row starts again at threshold 0 and finds [1, 1] as the threshold-0 search
    does (three more passes: five in all, NFE keeps counting); without it, exhausted at 2."""
    spec = register_task(_PairTask()).spec(1)
    model = _constant([[0.7, 0.3], [0.999, 0.001]])
    tokens = torch.full((1, 2), spec.mask_id)
    res = Search("backtrack", 0.1, max_nfe=50).run(model, TopKSampler(1), spec, tokens,
                                                   record=True)  # fmt: skip
    assert res.tokens.tolist() == [[1, 1]] and int(res.status[0]) == SOLVED
    assert int(res.nfe[0]) == 5 and int(res.backtracks[0]) == 1 + 3
    assert int(res.branch_points[0]) == 1 + 3  # cell 0 before the restart, then as at 0
    passes = [e.values.tolist() for e in res.events[0] if e.kind == "pass"]
    assert passes == [[-1, 0], [0, 0], [-1, 0], [0, 0], [0, 1]]
    plain = Search("backtrack", 0.1, max_nfe=None, restart=False).run(model, TopKSampler(1),
                                                                      spec, tokens)  # fmt: skip
    assert int(plain.status[0]) == EXHAUSTED and int(plain.nfe[0]) == 2


def test_after_a_backtrack_the_rest_of_the_pass_is_predicted_again():
    """EB at gamma 10 reveals both cells in pass 1, both branch cells: cell 0 = 0 (0.673 nats,
    ranked first), cell 1 = 0 (0.688). [0, 0] fails; cell 1 tries 1: [0, 1] fails; cell 1 is
    spent, so cell 0 takes 1. With ``repredict`` cell 1, the rest of that pass, is masked and
    pass 2 predicts it knowing cell 0 = 1: 1 at 0.99, [1, 1] (two backtracks, two passes).
    Without it, cell 1 goes back to its first value 0, [1, 0] fails and it tries 1: solved
    with no second pass, at three backtracks."""
    spec = register_task(_PairTask()).spec(1)

    def model(tokens):
        cell1 = torch.where((tokens[:, :1] == 1).unsqueeze(-1), torch.tensor([0.01, 0.99]),
                            torch.tensor([0.55, 0.45]))  # fmt: skip
        cell0 = torch.tensor([0.6, 0.4]).expand(tokens.shape[0], 1, 2)
        return torch.cat([cell0, cell1], 1).log()

    tokens = torch.full((1, 2), spec.mask_id)
    res = Search("backtrack", 0.0, max_nfe=None).run(model, EBSampler(10.0), spec, tokens,
                                                     record=True)  # fmt: skip
    assert res.tokens.tolist() == [[1, 1]] and int(res.status[0]) == SOLVED
    assert int(res.nfe[0]) == 2 and int(res.backtracks[0]) == 2
    assert int(res.branch_points[0]) == 3  # cell 1 again in pass 2 (0.056 nats > 0)
    steps = [(e.kind, e.values.tolist()) for e in res.events[0]]
    assert steps == [("pass", [0, 0]), ("backtrack", [0, 1]), ("backtrack", [1, -1]),
                     ("pass", [1, 1])]  # fmt: skip
    assert res.reveal_step.tolist() == [[1, 2]]
    kept = Search("backtrack", 0.0, max_nfe=None, repredict=False).run(
        model, EBSampler(10.0), spec, tokens, record=True)  # fmt: skip
    assert kept.tokens.tolist() == [[1, 1]] and int(kept.nfe[0]) == 1
    assert int(kept.backtracks[0]) == 3 and int(kept.branch_points[0]) == 2
    assert [e.values.tolist() for e in kept.events[0]] == [[0, 0], [0, 1], [1, 0], [1, 1]]
