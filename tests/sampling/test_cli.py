"""``unmask solve`` and ``unmask bench`` end to end, with a tiny random-init model file."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from puzzles.task import get_task
from sampling.options import SolveOptions
from sampling.samplers import EBSampler, RandomSampler
from sampling.solve import check_answers, solve_puzzles, solve_tokens
from unmask_cli import main

checkpoint = pytest.importorskip("models.checkpoint", reason="models.checkpoint not importable")
denoiser = pytest.importorskip("models.denoiser", reason="models.denoiser not importable")
config = pytest.importorskip("models.config", reason="models.config not importable")

MAZE = """\
#####
#S..#
###.#
#G..#
#####

#####
#S#G#
#.#.#
#...#
#####
"""


def _save_tiny(path, spec):
    torch.manual_seed(0)
    model = denoiser.Denoiser(config.ModelConfig.from_spec(spec, "tiny"))
    checkpoint.save_model(path, model, {"note": "random init, for tests"})


@pytest.fixture(scope="module")
def files(tmp_path_factory, oracle):
    d = tmp_path_factory.mktemp("cli")
    _save_tiny(d / "s4.pt", get_task("sudoku").spec(4))
    _save_tiny(d / "m2.pt", get_task("maze").spec(2))
    g = torch.Generator().manual_seed(0)
    puzzles, _ = oracle.random_puzzles(12, 8, generator=g)
    lines = ["".join("." if v == 4 else str(v + 1) for v in row) for row in puzzles.tolist()]
    (d / "s4.txt").write_text("\n".join(lines) + "\n")
    (d / "m2.txt").write_text(MAZE)
    return d, lines


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_solve_sudoku_writes_answers_and_stats(files, capsys):
    d, lines = files
    rc, out, _ = run(
        capsys, "solve", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt",
        "--sampler", "eb", "--gamma", "0.5", "--output", d / "ans.txt",
        "--stats", d / "stats.json", "--quiet",
    )  # fmt: skip
    assert rc == 0 and "solved" in out
    answers = (d / "ans.txt").read_text().splitlines()
    assert len(answers) == len(lines)
    for puzzle, answer in zip(lines, answers, strict=True):
        assert len(answer) == 16 and set(answer) <= set("1234")
        assert all(
            p in (".", a) for p, a in zip(puzzle, answer, strict=True)
        )  # givens kept, same order
    stats = json.loads((d / "stats.json").read_text())
    for key in ("n", "solved", "accuracy", "mean_nfe", "median_nfe", "seconds",
                "puzzles_per_second", "sampler", "checkpoint", "per_puzzle"):  # fmt: skip
        assert key in stats
    assert stats["n"] == 12 and stats["sampler"] == {"name": "eb", "gamma": 0.5, "proxy": "entropy"}
    per = stats["per_puzzle"]
    assert [p["valid"] for p in per].count(True) == stats["solved"]
    assert stats["mean_nfe"] == pytest.approx(np.mean([p["nfe"] for p in per]))
    assert all(1 <= p["nfe"] <= 8 and p["attempts"] == 1 for p in per)  # 8 blanks each


@pytest.mark.parametrize("task", ["sudoku", "maze"])
def test_search_takes_the_family_branch_entropy_unless_given(files, capsys, task):
    from sampling.search import branch_entropy_for

    d, _ = files
    data, model = (d / "s4.txt", d / "s4.pt") if task == "sudoku" else (d / "m2.txt", d / "m2.pt")
    assert branch_entropy_for(task) == {"sudoku": 0.02, "maze": 0.001}[task]
    for extra, want in (
        ((), branch_entropy_for(task)),
        (("--branch-entropy", "0.3"), 0.3),
    ):
        rc, _, _ = run(
            capsys, "solve", task, "--input", data, "--checkpoint", model, "--search", "backtrack",
            *extra, "--output", d / f"{task}_be.txt", "--stats", d / f"{task}_be.json", "--quiet",
        )  # fmt: skip
        assert rc == 0
        assert json.loads((d / f"{task}_be.json").read_text())["search"]["branch_entropy"] == want


def test_solve_retries_count_attempts_and_all_nfe(files, capsys):
    d, _ = files
    rc, _, _ = run(
        capsys, "solve", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt",
        "--sampler", "topk", "--k", "1", "--retries", "2", "--output", d / "ans.txt",
        "--stats", d / "stats.json", "--quiet",
    )  # fmt: skip
    assert rc == 0
    stats = json.loads((d / "stats.json").read_text())
    per = stats["per_puzzle"]
    for p in per:
        assert p["nfe"] == 8 * p["attempts"]  # top-1: one pass per blank, every attempt
        assert 1 <= p["attempts"] <= 3
        assert p["valid"] or p["attempts"] == 3  # failures used every retry
    assert any(p["attempts"] > 1 for p in per)  # a random-init model fails some first tries
    assert stats["mean_attempts"] == pytest.approx(np.mean([p["attempts"] for p in per]))


def test_solve_maze_with_2d_dus(files, capsys):
    d, _ = files
    rc, out, _ = run(
        capsys, "solve", "maze", "--input", d / "m2.txt", "--checkpoint", d / "m2.pt",
        "--sampler", "dus", "--two-d", "--output", d / "m.txt", "--quiet",
    )  # fmt: skip
    assert rc == 0
    blocks = (d / "m.txt").read_text().strip().split("\n\n")
    puzzles = MAZE.strip().split("\n\n")
    assert len(blocks) == 2
    for ans, puz in zip(blocks, puzzles, strict=True):
        for a_row, p_row in zip(ans.splitlines(), puz.splitlines(), strict=True):
            for a, p in zip(a_row, p_row, strict=True):
                assert a == p if p != "." else a in ".*"  # only open cells change


def test_propagate_solves_perfect_mazes_without_the_model(files, capsys):
    """The shortest-path rule pins the unique path of a perfect maze, so --propagate solves both
    mazes at NFE 0 even with a random model; bench rows say so."""
    d, _ = files
    rc, out, _ = run(
        capsys, "bench", "maze", "--input", d / "m2.txt", "--checkpoint", d / "m2.pt",
        "--samplers", "topk:k=1", "--propagate", "--out", d / "prop", "--quiet",
    )  # fmt: skip
    assert rc == 0 and "(2/2; 2 by the rules alone)" in out
    (row,) = json.loads((d / "prop.json").read_text())
    assert row["propagate"] and row["constrain"] and row["validator_in_loop"]
    assert row["mean_nfe"] == 0 and row["solved_at_0_nfe"] == 2


def test_bench_writes_csv_json_and_table(files, capsys):
    d, _ = files
    rc, out, _ = run(
        capsys, "bench", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt",
        "--samplers", "topk:k=1,eb:gamma=1,proxy=margin,dus,random:k=2", "--limit", "10",
        "--out", d / "bench", "--quiet",
    )  # fmt: skip
    assert rc == 0
    assert "| `topk:k=1` |" in out and "| `eb:gamma=1,proxy=margin` |" in out
    rows = json.loads((d / "bench.json").read_text())
    assert [r["sampler"] for r in rows] == [
        "topk:k=1",
        "eb:gamma=1,proxy=margin",
        "dus",
        "random:k=2",
    ]
    assert all(r["n"] == 10 and r["task"] == "sudoku" for r in rows)
    assert [r["family"] for r in rows] == ["topk", "eb-margin", "dus", "random"]
    assert rows[0]["mean_nfe"] == 8 and rows[0]["speedup_nfe"] == 1.0
    assert rows[2]["mean_nfe"] == 3  # dus: ceil(log2 8)
    assert rows[2]["speedup_nfe"] == pytest.approx(8 / 3)
    assert rows[3]["mean_nfe"] == 4
    with open(d / "bench.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["sampler"] for r in table] == [r["sampler"] for r in rows]
    assert table[1]["params"] == "gamma=1.0;proxy=margin"


def test_a_bench_row_gives_back_the_options_it_was_run_with(oracle):
    """``row_options``: what `unmask report` re-runs a row with is what `run_bench` ran."""
    import dataclasses

    from sampling.bench import row_options, run_bench
    from sampling.samplers import DUSSampler, TopKSampler

    spec = get_task("sudoku").spec(4)
    puzzles = spec.decode(oracle.random_puzzles(2, 8, generator=torch.Generator().manual_seed(1))[0]
                          .numpy())  # fmt: skip
    base = SolveOptions(device="cpu", seed=7, temperature=0.5)
    runs = [("eb:gamma=0.5", dataclasses.replace(base, sampler=EBSampler(0.5), search="backtrack",
                                                  branch_entropy=0.1, max_nfe=9)),
            ("dus:two_d=true", dataclasses.replace(base, sampler=DUSSampler(two_d=True),
                                                    propagate=True)),
            ("topk:k=2,proxy=margin", dataclasses.replace(base, sampler=TopKSampler(2, "margin"),
                                                           search="remask"))]  # fmt: skip
    rows = json.loads(json.dumps(run_bench(oracle, spec, puzzles, runs)))  # as a file holds them
    def what(o: SolveOptions):  # a row says "rules in the loop" and the search it ran
        return o.sampler, o.temperature, o.seed, o.rules, o.propagate, o.search_config("sudoku")

    for (label, opts), row in zip(runs, rows, strict=True):
        got_label, got = row_options(row, SolveOptions(device="cpu"))
        assert got_label == label and what(got) == what(opts) and got.device == "cpu"
    with pytest.raises(ValueError, match="unknown sampler"):
        row_options({**rows[0], "name": "nope", "sampler": "nope"}, base)


def test_bench_maze_reports_open_cells(files, capsys):
    d, _ = files
    rc, out, _ = run(
        capsys, "bench", "maze", "--input", d / "m2.txt", "--checkpoint", d / "m2.pt",
        "--samplers", "topk:k=1,dus:two_d=true", "--out", d / "bm", "--quiet",
    )  # fmt: skip
    assert rc == 0 and "cells to fill" in out
    rows = json.loads((d / "bm.json").read_text())
    assert rows[0]["mean_unknown_cells"] == 5.0  # 5 open cells in each maze
    assert rows[0]["mean_nfe"] == rows[0]["mean_unknown_cells"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--sampler", "topk", "--gamma", "0.1"], "--gamma applies to --sampler eb"),
        (["--sampler", "eb", "--gamma", "-1"], "argument --gamma: must be a finite number >= 0"),
        (["--batch-size", "0"], "--batch-size"),
        (["--retries", "-1"], "--retries"),
    ],
)
def test_solve_flag_errors_exit_2(files, capsys, argv, message):
    d, _ = files
    rc, _, err = run(
        capsys, "solve", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt",
        "--output", d / "x.txt", "--quiet", *argv,
    )  # fmt: skip
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_input_and_model_errors_exit_2(files, capsys, tmp_path):
    d, _ = files
    bad = tmp_path / "bad.txt"
    bad.write_text("1234............\n12x4............\n")
    common = ["--output", tmp_path / "x.txt", "--quiet"]
    rc, _, err = run(
        capsys, "solve", "sudoku", "--input", bad, "--checkpoint", d / "s4.pt", *common
    )
    assert rc == 2 and "bad.txt" in err and ":2" in err and "Traceback" not in err
    rc, _, err = run(capsys, "solve", "sudoku", "--input", d / "s4.txt", *common)
    assert rc == 2 and "no shipped model" in err
    rc, _, err = run(
        capsys, "solve", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "m2.pt", *common
    )
    assert rc == 2 and "maze" in err
    rc, _, err = run(
        capsys, "bench", "sudoku", "--input", d / "s4.txt", "--checkpoint", d / "s4.pt",
        "--samplers", "topk:k=1,beam:w=2", "--out", tmp_path / "b", "--quiet",
    )  # fmt: skip
    assert rc == 2 and "beam:w=2" in err
    assert not (tmp_path / "x.txt").exists()


def test_solve_is_independent_of_batch_size(oracle, make_puzzles):
    spec = get_task("sudoku").spec(4)
    tokens = make_puzzles(40, 3, seed=9)
    boards = spec.decode(tokens.numpy())
    runs = [
        solve_puzzles(oracle, spec, boards, SolveOptions(
            sampler=RandomSampler(2), batch_size=bs, temperature=1.0, seed=4, retries=1))
        for bs in (7, 64)
    ]  # fmt: skip
    assert np.array_equal(runs[0].answers, runs[1].answers)
    assert np.array_equal(runs[0].nfe, runs[1].nfe)
    assert runs[0].reasons == runs[1].reasons
    assert runs[0].reasons == check_answers(spec, boards, runs[0].answers)
    traces = [solve_tokens(oracle, spec, tokens, SolveOptions(sampler=EBSampler(0.7), batch_size=bs))
              for bs in (5, 40)]  # fmt: skip
    for name in ("tokens", "reveal_step", "nfe", "entropy"):
        assert torch.equal(
            getattr(traces[0], name).nan_to_num(-1), getattr(traces[1], name).nan_to_num(-1)
        )
