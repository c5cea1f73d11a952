"""The denoiser's contract: shapes, float32 logits over values only, pass-through of givens."""

from __future__ import annotations

import pytest
import torch

from models.config import PRESETS, ModelConfig
from models.denoiser import Denoiser
from puzzles.task import get_task
from puzzles.tokens import GOAL, MAZE_MASK, START, WALL


def _model(spec, pos="rowcol", **kw) -> Denoiser:
    torch.manual_seed(0)
    return Denoiser(ModelConfig.from_spec(spec, "tiny", pos=pos, **kw)).eval()


def _random_sudoku_tokens(spec, B: int, gen: torch.Generator) -> torch.Tensor:
    tokens = torch.randint(0, spec.num_values, (B, spec.num_cells), generator=gen)
    masked = torch.rand(B, spec.num_cells, generator=gen) < 0.5
    return tokens.masked_fill(masked, spec.mask_id)  # (B, L)


@pytest.mark.parametrize("pos", ["rowcol", "rope2d", "learned1d"])
@pytest.mark.parametrize("norm,mlp", [("layernorm", "gelu"), ("rmsnorm", "swiglu")])
def test_shapes_dtype_and_pass_through(pos, norm, mlp):
    spec = get_task("sudoku").spec(4)
    model = _model(spec, pos, norm=norm, mlp=mlp)
    gen = torch.Generator().manual_seed(1)
    tokens = _random_sudoku_tokens(spec, 5, gen)
    logits = model(tokens)
    assert logits.shape == (5, 16, spec.num_values)  # values only, never the mask token
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    given = tokens != spec.mask_id
    probs = logits.softmax(-1)
    # A given cell puts all its mass on its own value.
    own = probs.gather(-1, tokens.clamp(max=spec.num_values - 1).unsqueeze(-1)).squeeze(-1)
    assert torch.equal(own[given], torch.ones_like(own[given]))
    assert torch.equal(logits[given].max(-1).values, torch.zeros(int(given.sum())))


def test_pass_through_under_bf16_autocast_stays_float32():
    spec = get_task("sudoku").spec(9)
    model = _model(spec)
    tokens = _random_sudoku_tokens(spec, 3, torch.Generator().manual_seed(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(tokens)
    assert logits.dtype == torch.float32
    given = tokens != spec.mask_id
    assert torch.equal(logits[given].argmax(-1), tokens[given])


def test_maze_context_cells_get_finite_logits():
    spec = get_task("maze").spec(3)
    model = _model(spec)
    tokens = torch.full((2, spec.num_cells), MAZE_MASK)
    tokens[:, 0] = WALL
    tokens[:, 1] = START
    tokens[:, 2] = GOAL
    tokens[:, 3] = 1  # a PATH value: passed through
    logits = model(tokens)
    assert logits.shape == (2, spec.num_cells, 2)
    assert torch.isfinite(logits).all()
    assert torch.equal(logits[:, 3], torch.tensor([[-1e4, 0.0], [-1e4, 0.0]]))


def test_batch_rows_are_independent():
    spec = get_task("sudoku").spec(4)
    model = _model(spec)
    tokens = _random_sudoku_tokens(spec, 6, torch.Generator().manual_seed(3))
    batched = model(tokens)
    single = torch.cat([model(tokens[i : i + 1]) for i in range(6)])
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-5)


def test_attention_is_bidirectional():
    """Changing the last cell changes the first masked cell's logits (no causal mask)."""
    spec = get_task("sudoku").spec(4)
    model = _model(spec)
    tokens = torch.full((1, 16), spec.mask_id)
    other = tokens.clone()
    other[0, 15] = 2
    assert not torch.allclose(model(tokens)[0, 0], model(other)[0, 0])


def test_wrong_length_is_rejected():
    model = _model(get_task("sudoku").spec(4))
    with pytest.raises(ValueError, match="16 cells"):
        model(torch.zeros(1, 81, dtype=torch.long))


def test_preset_sizes():
    tiny = Denoiser(ModelConfig.from_spec(get_task("sudoku").spec(9), "tiny")).num_parameters()
    small = Denoiser(ModelConfig.from_spec(get_task("sudoku").spec(9), "small")).num_parameters()
    assert tiny < 300_000
    assert 6.0e6 < small < 6.6e6  # the EB-Sampler paper's ~6M puzzle model
    assert set(PRESETS) == {"tiny", "small"}


def test_config_round_trip_and_validation():
    cfg = ModelConfig.from_spec(get_task("maze").spec(4), "tiny", pos="rope2d")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict(cfg.to_dict() | {"future_knob": 1})
    with pytest.raises(ValueError, match="pos"):
        ModelConfig.from_spec(get_task("maze").spec(4), "tiny", pos="absolute")
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig.from_spec(get_task("maze").spec(4), "tiny", n_heads=5)


def test_rotary_model_takes_any_grid_and_row_column_model_refuses():
    from puzzles.task import get_task

    spec = get_task("maze").spec(3)
    rope = Denoiser(ModelConfig.from_spec(spec, "tiny", pos="rope2d")).eval()
    rowcol = Denoiser(ModelConfig.from_spec(spec, "tiny")).eval()
    assert rope.any_size and not rowcol.any_size
    tokens = torch.randint(0, 6, (2, 11 * 11))
    with torch.no_grad():
        out = rope(tokens, grid=(11, 11))
        assert out.shape == (2, 121, 2) and torch.isfinite(out).all()
        # its own grid, given or not, is the same computation
        own = torch.randint(0, 6, (2, 49))
        assert torch.equal(rope(own), rope(own, grid=(7, 7)))
    with pytest.raises(ValueError, match="7x7 grids only"):
        rowcol(tokens, grid=(11, 11))
    with pytest.raises(ValueError, match="does not match"):
        rope(tokens, grid=(10, 11))
