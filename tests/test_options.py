"""Every option is declared once: the parsers of every subcommand against the declarations,
``--print-config`` against the declared defaults, and ``--config`` reading them back."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

import unmask_cli
from models.cli import TrainCommand
from models.config import ModelConfig, Runtime, TrainConfig
from puzzles.cli import GenerateRun, ValidateRun
from puzzles.options import declared, help_text
from puzzles.task import tasks
from sampling.cli import BENCH_SKIP, PICTURE_SKIP, BenchRun, Inputs, SolveOutputs
from sampling.options import SolveOptions
from sampling.samplers import SAMPLERS
from sampling.specs import knob_owners
from viz.cli import (
    Animation,
    BenchFigure,
    Figure,
    OnePuzzle,
    OrderPuzzle,
    ReportPage,
    TrainingFigure,
    ViewPage,
    ViewPuzzles,
)

META = {"-h", "--help", "--config", "--print-config"}
SAMPLER_FLAGS = {"--sampler"} | {d.flag for owners in knob_owners().values() for _, d in owners}


def _solve_decls(skip=(), sampler=True):
    decls = [d for d in declared(SolveOptions) if d.name not in skip]
    return decls, SAMPLER_FLAGS if sampler else set()


def _expected() -> dict[tuple[str, ...], tuple[list, set]]:
    """Per subcommand path: the declared options its flags must be, and the sampler flags."""
    out = {}
    for task in tasks():
        size = [d for d in declared(task.options()) if d.name == task.size_option]
        out[("generate", task.name)] = (declared(task.options()) + declared(GenerateRun), set())
        out[("train", task.name)] = (size + declared(TrainConfig) + declared(ModelConfig)
                                     + declared(Runtime) + declared(TrainCommand), set())  # fmt: skip
    out[("validate",)] = (declared(ValidateRun), set())
    solve, knobs = _solve_decls()
    out[("solve",)] = (declared(Inputs) + solve + declared(SolveOutputs), knobs)
    bench, _ = _solve_decls(BENCH_SKIP, sampler=False)
    out[("bench",)] = (declared(Inputs) + declared(BenchRun) + bench, set())
    picture, knobs = _solve_decls(PICTURE_SKIP)
    out[("animate",)] = (declared(OnePuzzle) + picture + declared(Animation), knobs)
    out[("plot", "order")] = (declared(OrderPuzzle) + picture + declared(Figure), knobs)
    out[("view",)] = (declared(ViewPuzzles) + picture + declared(ViewPage), knobs)
    out[("report",)] = (declared(ReportPage), set())
    out[("plot", "bench")] = (declared(BenchFigure), set())
    out[("plot", "training")] = (declared(TrainingFigure), set())
    return out


def _leaves(parser, path=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name))


def _by_flag(decls):
    out = {}
    for d in decls:
        for flag in (d.flag, *d.aliases) if d.flag else (d.name,):
            out.setdefault(flag, d)  # a subclass's own field comes first
    return out


def test_every_flag_of_every_command_is_declared_and_every_declared_option_is_a_flag():
    expected = _expected()
    leaves = dict(_leaves(unmask_cli.build_parser()))
    assert set(leaves) == set(expected)  # a new command needs its declarations listed here
    for path, parser in leaves.items():
        decls, knobs = expected[path]
        by_flag = _by_flag(decls)
        seen = set()
        for action in parser._actions:
            if not action.option_strings:  # a positional: its dest is a declared name
                assert action.dest in by_flag, (path, action.dest)
                seen.add(action.dest)
                continue
            flags = [f for f in action.option_strings if not f.startswith("--no-")]
            if set(flags) & (META | knobs):
                continue
            d = by_flag.get(flags[0])
            assert d is not None, f"{' '.join(path)}: {flags[0]} is not declared"
            assert action.dest == d.name and action.default is argparse.SUPPRESS, (path, flags)
            # the help says the declared default (or what the command shows instead of it)
            assert action.help.startswith(help_text(dataclasses.replace(d, shown=None)))
            if d.shown is not None and path[0] != "train":
                assert action.help.endswith(f"(default {d.shown})"), (path, flags, action.help)
            seen.add(flags[0])
        missing = {f for f in by_flag if f not in seen} - {a for d in decls for a in d.aliases}
        assert not missing, f"{' '.join(path)}: declared but no flag: {sorted(missing)}"


def _print_config(capsys, *argv) -> dict:
    assert unmask_cli.main([*map(str, argv), "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)


def test_solve_print_config_is_the_declared_defaults_and_config_reads_it_back(capsys, tmp_path):
    base = ["solve", "sudoku", "--input", "in.txt", "--output", "out.txt"]
    printed = _print_config(capsys, *base)["solve"]
    defaults = {d.name: d.default for d in declared(SolveOptions)}
    assert {k: v for k, v in printed.items() if k != "sampler"} == defaults
    assert printed["sampler"] == SAMPLERS["eb"]().config()
    changed = _print_config(capsys, *base, "--sampler", "topk", "--k", "3", "--search", "backtrack",
                            "--temperature", "0.5")  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps({"solve": changed["solve"]}))
    again = _print_config(capsys, *base, "--config", tmp_path / "c.json")
    assert again == changed
    over = _print_config(capsys, *base, "--config", tmp_path / "c.json", "--k", "2")["solve"]
    assert over["sampler"] == {"name": "topk", "k": 2, "proxy": "entropy"}  # the flag wins
    assert {k: v for k, v in over.items() if k != "sampler"} == {
        k: v for k, v in changed["solve"].items() if k != "sampler"
    }


def test_bench_print_config_round_trip(capsys, tmp_path):
    base = ["bench", "maze", "--input", "in.txt"]
    printed = _print_config(capsys, *base, "--samplers", "eb:gamma=0.1", "--search", "none",
                            "backtrack", "--limit", "7")  # fmt: skip
    assert printed["bench_run"] == {"samplers": "eb:gamma=0.1", "search": ["none", "backtrack"],
                                    "limit": 7}  # fmt: skip
    (tmp_path / "b.json").write_text(json.dumps(printed))
    assert _print_config(capsys, *base, "--config", tmp_path / "b.json") == printed


def test_train_print_config_is_default_config(capsys, tmp_path):
    from models.train import default_config

    printed = _print_config(capsys, "train", "sudoku", "--size", "4", "--preset", "tiny",
                            "--out", tmp_path / "r")  # fmt: skip
    assert printed["train"] == default_config("sudoku", 4, "tiny", 0).to_dict()
    assert printed["runtime"] == dataclasses.asdict(Runtime())
    assert printed["model"]["d_model"] == 64 and printed["model"]["spec"]["height"] == 4
    (tmp_path / "c.json").write_text(json.dumps(printed))
    again = _print_config(capsys, "train", "sudoku", "--config", tmp_path / "c.json",
                          "--steps", "7", "--out", tmp_path / "r2")  # fmt: skip
    assert again["train"] == {**printed["train"], "steps": 7}  # only the typed flag changes
    assert again["model"] == printed["model"] and again["runtime"] == printed["runtime"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["solve", "sudoku", "--input", "x", "--output", "y", "--config", "{missing}"], "no such file"),
        (["solve", "sudoku", "--input", "x", "--output", "y", "--config", "{bad_key}"],
         "unknown option 'gama'"),
        (["solve", "sudoku", "--input", "x", "--output", "y", "--config", "{bad_value}"],
         "batch_size: must be a whole number >= 1"),
        (["train", "sudoku", "--out", "r", "--config", "{maze_run}"], "a run of maze, not sudoku"),
    ],
)
def test_bad_config_files_are_one_line_errors(capsys, tmp_path, argv, message):
    files = {
        "bad_key": {"solve": {"gama": 1}},
        "bad_value": {"solve": {"batch_size": 0}},
        "maze_run": {"train": {"task": "maze", "size": 4}},
    }
    for name, data in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    paths = {name: tmp_path / f"{name}.json" for name in [*files, "missing"]}
    argv = [a.format(**paths) for a in argv]
    assert unmask_cli.main(argv + ["--print-config"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
