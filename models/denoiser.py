"""The denoiser: a bidirectional transformer over a puzzle's grid cells.

Input: a row-major token grid (B, L) with L = height * width; cells to fill hold ``mask_id``.
Output: float32 logits (B, L, num_values) over the task's values only (never the mask token).
Given value cells are passed through: their logits put all mass on their own value. There is
no timestep input; the fraction of masked cells is visible to the model in the tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.config import ModelConfig

# Pass-through logit for the values a given cell does not hold: exp(-1e4) == 0 in float32.
_PASS_NEG = -1.0e4


class RMSNorm(nn.Module):
    """Root-mean-square norm with a learned gain (own code: ``nn.RMSNorm`` needs torch >= 2.4)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return (x * self.weight).to(dtype)


def _norm(cfg: ModelConfig) -> nn.Module:
    return (
        RMSNorm(cfg.d_model) if cfg.norm == "rmsnorm" else nn.LayerNorm(cfg.d_model, bias=cfg.bias)
    )


class Rotary2D(nn.Module):
    """2-D rotary position embedding: the first half of each head's dimensions rotates with the
    cell's row, the second half with its column (pairs rotated as in RoPE's rotate-half form).

    ``tables(height, width)`` gives the rotations of any grid, so a model with rotary positions
    takes grids of every size (no table of positions is learned)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        head_dim = cfg.d_model // cfg.n_heads
        quarter = head_dim // 4  # frequencies per axis
        inv_freq = cfg.rope_base ** (-torch.arange(quarter, dtype=torch.float32) / quarter)
        self.register_buffer("inv_freq", inv_freq, persistent=False)  # (hd/4,)

    def tables(self, height: int, width: int) -> tuple[torch.Tensor, ...]:
        """(cos_r, sin_r, cos_c, sin_c), each (L, hd/4), for a row-major height x width grid."""
        pos = torch.arange(height * width, device=self.inv_freq.device)
        rows = (pos // width).float()[:, None] * self.inv_freq  # (L, hd/4)
        cols = (pos % width).float()[:, None] * self.inv_freq  # (L, hd/4)
        return rows.cos(), rows.sin(), cols.cos(), cols.sin()

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        # x: (B, H, L, hd/2); cos, sin: (L, hd/4)
        x1, x2 = x.chunk(2, dim=-1)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)

    @classmethod
    def apply(cls, x: torch.Tensor, tables: tuple[torch.Tensor, ...]) -> torch.Tensor:
        # x: (B, H, L, hd) -> same shape, rotated by (row, col)
        cos_r, sin_r, cos_c, sin_c = tables
        xr, xc = x.chunk(2, dim=-1)  # (B, H, L, hd/2) each
        return torch.cat((cls._rotate(xr, cos_r, sin_r), cls._rotate(xc, cos_c, sin_c)), dim=-1)


class SelfAttention(nn.Module):
    """Bidirectional multi-head self-attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=cfg.bias)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=cfg.bias)

    def forward(self, x: torch.Tensor, rope: tuple | None = None) -> torch.Tensor:
        B, L, D = x.shape
        qkv = self.qkv(x).view(B, L, 3, self.n_heads, D // self.n_heads)  # (B, L, 3, H, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, hd)
        if rope is not None:
            q, k = Rotary2D.apply(q, rope), Rotary2D.apply(k, rope)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, L, hd)
        y = y.transpose(1, 2).reshape(B, L, D)  # (B, L, D)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.swiglu = cfg.mlp == "swiglu"
        width = 2 * cfg.d_ff if self.swiglu else cfg.d_ff
        self.up = nn.Linear(cfg.d_model, width, bias=cfg.bias)
        self.down = nn.Linear(cfg.d_ff, cfg.d_model, bias=cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up(x)  # (B, L, d_ff) or (B, L, 2*d_ff)
        if self.swiglu:
            gate, h = h.chunk(2, dim=-1)
            h = F.silu(gate) * h
        else:
            h = F.gelu(h)
        return self.down(h)  # (B, L, D)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1 = _norm(cfg)
        self.attn = SelfAttention(cfg)
        self.norm2 = _norm(cfg)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, rope: tuple | None = None) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), rope))
        return x + self.drop(self.mlp(self.norm2(x)))


class Denoiser(nn.Module):
    """Masked-diffusion denoiser for one task's grid (see ``ModelConfig``).

    ``forward(tokens)`` takes a LongTensor (B, L) of token ids (``puzzles.tokens`` conventions)
    and returns float32 logits (B, L, num_values). Cells holding a value (id < num_values) get
    pass-through logits: 0 at their own value and -1e4 elsewhere. Maze context cells (wall,
    start, goal) get the network's (finite) logits; samplers never fill them.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        pos = torch.arange(cfg.seq_len)
        self.register_buffer("row_ids", pos // cfg.width, persistent=False)  # (L,)
        self.register_buffer("col_ids", pos % cfg.width, persistent=False)  # (L,)
        self.rotary = None
        if cfg.pos == "rowcol":
            self.row_emb = nn.Embedding(cfg.height, cfg.d_model)
            self.col_emb = nn.Embedding(cfg.width, cfg.d_model)
        elif cfg.pos == "learned1d":
            self.pos_emb = nn.Embedding(cfg.seq_len, cfg.d_model)
        else:  # rope2d: no additive signal, rotations inside attention; any grid size
            self.rotary = Rotary2D(cfg)
        if cfg.block:  # which block x block block of the grid a cell is in (Sudoku: its box)
            blocks_w = cfg.width // cfg.block
            block_ids = (pos // cfg.width // cfg.block) * blocks_w + (pos % cfg.width) // cfg.block
            self.register_buffer("block_ids", block_ids, persistent=False)  # (L,)
            self.block_emb = nn.Embedding(int(block_ids.max()) + 1, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm_f = _norm(cfg)
        self.head = nn.Linear(cfg.d_model, cfg.num_values, bias=cfg.bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 style init: N(0, 0.02), zero biases, residual projections scaled by depth."""
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                std = 0.02
                if name.endswith(("attn.proj.weight", "mlp.down.weight")):
                    std = 0.02 / math.sqrt(2 * self.cfg.n_layers * self.cfg.n_loops)
                nn.init.normal_(p, mean=0.0, std=std)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def any_size(self) -> bool:
        """Takes grids of any size (rotary positions, no block embedding)."""
        return self.cfg.pos == "rope2d" and not self.cfg.block

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int] | None = None) -> torch.Tensor:
        """tokens (B, L) of a row-major grid: the model's own (L == cfg.seq_len) or, for a model
        with rotary positions, any ``grid`` = (height, width) with height * width == L."""
        B, L = tokens.shape
        if grid is None or tuple(grid) == (self.cfg.height, self.cfg.width):
            if L != self.cfg.seq_len:
                raise ValueError(f"expected {self.cfg.seq_len} cells per row, got {L}")
            grid = (self.cfg.height, self.cfg.width)
        elif not self.any_size:
            raise ValueError(
                f"this model takes {self.cfg.height}x{self.cfg.width} grids only, not "
                f"{grid[0]}x{grid[1]} (train it with --pos rope2d for any size)"
            )
        elif grid[0] * grid[1] != L:
            raise ValueError(f"grid {grid[0]}x{grid[1]} does not match {L} cells per row")
        rope = self.rotary.tables(*grid) if self.rotary is not None else None
        x = self.tok_emb(tokens)  # (B, L, D)
        if self.cfg.pos == "rowcol":
            x = x + self.row_emb(self.row_ids) + self.col_emb(self.col_ids)  # (L, D) broadcast
        elif self.cfg.pos == "learned1d":
            x = x + self.pos_emb.weight  # (L, D)
        if self.cfg.block:
            x = x + self.block_emb(self.block_ids)  # (L, D)
        x = self.drop(x)
        for _ in range(self.cfg.n_loops):  # weight-tied repeats: more compute, same size
            for block in self.blocks:
                x = block(x, rope)  # (B, L, D)
        logits = self.head(self.norm_f(x)).float()  # (B, L, V) float32 even under autocast

        # Pass-through for given value cells: all mass on their own value.
        V = self.cfg.num_values
        given = tokens < V  # (B, L)
        own = F.one_hot(tokens.clamp(max=V - 1), V).to(logits.dtype)  # (B, L, V)
        passthrough = (1.0 - own) * _PASS_NEG + 0.0  # 0 at own value, -1e4 elsewhere
        return torch.where(given.unsqueeze(-1), passthrough, logits)  # (B, L, V)
