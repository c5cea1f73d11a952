"""The model file: round trip, and clean one-line errors for bad or mismatched files."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import unmask_cli
from models.checkpoint import FORMAT, load_model, save_model, shipped_path
from models.config import ModelConfig
from models.denoiser import Denoiser
from puzzles.errors import UnmaskError
from puzzles.task import get_task


@pytest.fixture
def model_file(tmp_path):
    spec = get_task("sudoku").spec(4)
    torch.manual_seed(0)
    model = Denoiser(ModelConfig.from_spec(spec, "tiny")).eval()
    path = tmp_path / "model.pt"
    save_model(path, model, {"steps": 12, "val_solve_rate": 0.5})
    return path, model, spec


def test_round_trip_rebuilds_the_same_function(model_file):
    path, model, spec = model_file
    loaded = load_model(path, task="sudoku", size=4)
    assert loaded.spec == spec
    assert loaded.config == model.cfg
    assert loaded.summary == {"steps": 12, "val_solve_rate": 0.5}
    assert not loaded.model.training
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in loaded.model.parameters())
    # Weights are stored in bf16: the loaded model equals the original with bf16-rounded weights.
    rounded = Denoiser(model.cfg).eval()
    rounded.load_state_dict(
        {k: v.to(torch.bfloat16).float() for k, v in model.state_dict().items()}
    )
    tokens = torch.randint(0, 5, (4, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(loaded.model(tokens), rounded(tokens))
    # The file is plain data: weights_only loading works, and it describes itself.
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["format_version"] == 2
    # the spec is stored once, inside the config
    assert raw["config"]["spec"] == dataclasses.asdict(spec)
    assert not {"task", "size", "spec"} & set(raw)
    assert raw["vocabulary"] == ["1", "2", "3", "4", "mask"]
    assert all(v.dtype == torch.bfloat16 for v in raw["state_dict"].values())
    # A training folder resolves to its model.pt.
    assert load_model(path.parent).path == str(path)


def test_version_1_files_still_load(model_file, tmp_path):
    """The first release wrote task, size and spec beside a flat config (the shipped models)."""
    path, model, spec = model_file
    raw = torch.load(path, weights_only=True)
    flat = {k: v for k, v in raw["config"].items() if k != "spec"}
    flat.update({k: v for k, v in raw["config"]["spec"].items()})
    old = {
        "format": FORMAT, "format_version": 1, "task": "sudoku", "size": 4,
        "spec": {k: v for k, v in raw["config"]["spec"].items()},
        "vocabulary": {"values": ["1", "2", "3", "4"], "rule": "token = digit - 1", "mask_id": 4},
        "config": flat, "state_dict": raw["state_dict"], "summary": {"steps": 1},
    }  # fmt: skip
    torch.save(old, tmp_path / "v1.pt")
    loaded = load_model(tmp_path / "v1.pt", task="sudoku", size=4)
    assert loaded.config == model.cfg and loaded.spec == spec
    tokens = torch.randint(0, 5, (3, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(loaded.model(tokens), load_model(path).model(tokens))


def test_truncated_file(model_file, tmp_path):
    path = model_file[0]
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnmaskError, match="cut.pt: not a readable unmask model file"):
        load_model(cut)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello, not a model\n")
    with pytest.raises(UnmaskError, match="not a readable unmask model file"):
        load_model(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(UnmaskError, match="not an unmask model file"):
        load_model(other)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(UnmaskError, match="not an unmask model file"):
        load_model(tensor)


def test_task_and_size_mismatch(model_file):
    path = model_file[0]
    with pytest.raises(UnmaskError, match="model is for sudoku 4x4, not sudoku 9x9"):
        load_model(path, task="sudoku", size=9)
    with pytest.raises(UnmaskError, match="model is for sudoku 4x4, not maze"):
        load_model(path, task="maze", size=4)


def test_damaged_contents(model_file, tmp_path):
    path = model_file[0]
    raw = torch.load(path, weights_only=True)
    raw["state_dict"].pop("head.weight")
    bad = tmp_path / "bad.pt"
    torch.save(raw, bad)
    with pytest.raises(UnmaskError, match="weights do not match"):
        load_model(bad)
    raw = torch.load(path, weights_only=True)
    raw["format_version"] = 99
    torch.save(raw, bad)
    with pytest.raises(UnmaskError, match="newer"):
        load_model(bad)


def test_missing_and_shipped(tmp_path, monkeypatch):
    with pytest.raises(UnmaskError, match="not found"):
        load_model(tmp_path / "nope.pt")
    monkeypatch.setattr("models.checkpoint.SHIPPED_DIR", tmp_path)
    with pytest.raises(UnmaskError, match="no shipped model for sudoku 9x9 .*--checkpoint"):
        load_model(None, task="sudoku", size=9)
    assert shipped_path("maze", 10).name == "maze10.pt"


def test_maze_model_round_trip(tmp_path):
    spec = get_task("maze").spec(3)
    model = Denoiser(ModelConfig.from_spec(spec, "tiny", pos="rope2d"))
    save_model(tmp_path / "m.pt", model, {})
    loaded = load_model(tmp_path / "m.pt", task="maze", size=3)
    assert loaded.spec == spec and loaded.config.pos == "rope2d"


def test_cli_exits_2_on_a_bad_model_file(tmp_path, capsys):
    puzzles = tmp_path / "p.txt"
    puzzles.write_text("1.3." + "." * 12 + "\n")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    rc = unmask_cli.main(
        ["solve", "sudoku", "--input", str(puzzles), "--checkpoint", str(bad),
         "--output", str(tmp_path / "out.txt"), "--device", "cpu", "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "bad.pt: not a readable unmask model file" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_rotary_model_matches_every_size_of_its_task(tmp_path, monkeypatch, capsys):
    from puzzles import maze

    spec = get_task("maze").spec(3)
    torch.manual_seed(0)
    save_model(tmp_path / "any.pt", Denoiser(ModelConfig.from_spec(spec, "tiny", pos="rope2d")))
    save_model(tmp_path / "fixed.pt", Denoiser(ModelConfig.from_spec(spec, "tiny")))
    assert load_model(tmp_path / "any.pt", task="maze", size=5).spec == spec
    with pytest.raises(UnmaskError, match="model is for maze 3x3, not maze 5x5"):
        load_model(tmp_path / "fixed.pt", task="maze", size=5)
    # solving 4x4-cell mazes binds the model to their grid
    puzzles, _, _ = maze.generate_many(3, seed=1, h=4, workers=1, progress=False)
    (tmp_path / "m4.txt").write_text(maze.maze_text.format_maze_text(puzzles))
    argv = ["solve", "maze", "--input", str(tmp_path / "m4.txt"), "--checkpoint",
            str(tmp_path / "any.pt"), "--output", str(tmp_path / "a.txt"), "--quiet"]  # fmt: skip
    assert unmask_cli.main(argv) == 0 and (tmp_path / "a.txt").is_file()
    # with no --checkpoint, the task's any-size shipped model serves a size with no model
    monkeypatch.setattr("models.checkpoint.SHIPPED_DIR", tmp_path)
    (tmp_path / "any.pt").rename(tmp_path / "maze.pt")
    assert load_model(None, task="maze", size=7).path.endswith("maze.pt")
