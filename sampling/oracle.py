"""An exact denoiser for 4x4 Sudoku: the true conditional marginals, by enumeration.

There are 288 complete 4x4 Sudoku grids. For a partially filled token row, the *consistent
completions* are the grids that agree with every visible cell; the exact denoiser's marginal
for a masked cell is the frequency of each value among them. This is the model a perfectly
trained masked diffusion model would converge to, so it separates sampler error from model
error:

* top-1 (or EB at gamma = 0) with this oracle only ever places a value of non-zero marginal,
  i.e. one that some consistent completion holds, so it always ends on a valid grid;
* revealing several cells in one pass samples them as if independent, which can combine values
  that no single completion shares; that joint-dependence error grows with gamma.

``ExactSudokuDenoiser`` is a plain callable ``tokens (B, 16) -> logits (B, 16, 4)``, usable
wherever a model is (samplers never know the difference).
"""

from __future__ import annotations

import torch

# Logit of an impossible value (marginal 0): exp(-1e9) == 0 even after dividing by a temperature.
IMPOSSIBLE = -1.0e9


def all_grids(box: int = 2) -> torch.Tensor:
    """(G, n*n) long: every complete Sudoku grid with ``box`` x ``box`` boxes, as tokens
    (digit - 1), row-major, in lexicographic order. Only box = 2 is feasible (G = 288)."""
    if box != 2:
        raise ValueError(f"only 4x4 Sudoku (box=2) can be enumerated, got box={box}")
    n = box * box
    cells = n * n
    grid = [0] * cells
    out: list[list[int]] = []

    def fits(i: int, v: int) -> bool:
        r, c = divmod(i, n)
        br, bc = r - r % box, c - c % box
        for j in range(i):  # only earlier cells are filled
            rj, cj = divmod(j, n)
            if grid[j] == v and (
                rj == r or cj == c or (rj - rj % box == br and cj - cj % box == bc)
            ):
                return False
        return True

    def fill(i: int) -> None:
        if i == cells:
            out.append(list(grid))
            return
        for v in range(n):
            if fits(i, v):
                grid[i] = v
                fill(i + 1)

    fill(0)
    return torch.tensor(out, dtype=torch.long)


class ExactSudokuDenoiser:
    """Exact conditional-marginal oracle for 4x4 Sudoku tokens (values 0..3, mask id 4).

    ``oracle(tokens)`` with tokens (B, 16) returns logits (B, 16, 4) = log of the value
    frequencies among the grids consistent with the visible cells (``IMPOSSIBLE`` for a zero
    frequency). Given cells come out one-hot on their own value.

    A row with no consistent completion (a board a sampler has already made contradictory)
    uses the grids *nearest* to it instead: those disagreeing with the fewest visible cells.
    For consistent rows (distance 0) this is exactly the conditional marginal; for the others
    it is what a model that treats one wrong cell as noise would say, and it keeps
    contradictions from inflating NFE (uniform logits would make every later cell look hard).

    smoothing: add this pseudo-count to every value's count before normalising, so no
    probability is exactly 0 or 1 (useful to avoid exact entropy ties in tests).
    """

    def __init__(self, box: int = 2, smoothing: float = 0.0, device: torch.device | str = "cpu"):
        if smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {smoothing}")
        self.box = box
        self.n = box * box
        self.mask_id = self.n
        self.smoothing = float(smoothing)
        self.grids = all_grids(box).to(device)  # (G, L)
        self.onehot = torch.nn.functional.one_hot(self.grids, self.n).float()  # (G, L, V)
        self.calls = 0  # forward passes served (rows in a call count once together)

    def distance(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, G) long: visible cells of each row that disagree with each complete grid."""
        visible = tokens != self.mask_id  # (B, L)
        differ = self.grids.unsqueeze(0) != tokens.unsqueeze(1)  # (B, G, L)
        return (differ & visible.unsqueeze(1)).sum(-1)  # (B, G)

    def consistent(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, G) bool: which complete grids agree with every visible cell of each row."""
        return self.distance(tokens) == 0

    def count_completions(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B,) long: number of complete grids consistent with each row."""
        return self.consistent(tokens).sum(1)

    def is_valid(self, answers: torch.Tensor, puzzles: torch.Tensor) -> torch.Tensor:
        """(B,) bool: ``answers`` are complete valid grids that keep every given of ``puzzles``."""
        full = (answers != self.mask_id).all(1)
        in_set = (self.grids.unsqueeze(0) == answers.unsqueeze(1)).all(-1).any(1)  # (B,)
        given = puzzles != self.mask_id
        keeps = ((answers == puzzles) | ~given).all(1)
        return full & in_set & keeps

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        dist = self.distance(tokens)  # (B, G)
        nearest = (dist == dist.min(1, keepdim=True).values).float()  # (B, G), exact when 0
        counts = torch.einsum("bg,glv->blv", nearest, self.onehot)  # (B, L, V) value counts
        counts = counts + self.smoothing
        marg = counts / counts.sum(-1, keepdim=True)  # (B, L, V); every row has >= 1 grid
        return torch.where(marg > 0, marg.clamp(min=1e-30).log(), IMPOSSIBLE)

    def random_puzzles(
        self, count: int, clues: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` puzzles with ``clues`` givens each, cut from uniformly drawn grids.

        Returns (puzzles (count, 16) with mask id in blanks, the grids they came from).
        Few clues leave many solutions: exactly where joint dependence matters.
        """
        L = self.n * self.n
        if not 0 <= clues <= L:
            raise ValueError(f"clues must be in 0..{L}, got {clues}")
        dev = self.grids.device
        pick = torch.randint(0, self.grids.shape[0], (count,), generator=generator)
        grids = self.grids[pick.to(dev)]  # (count, L)
        keys = torch.rand(count, L, generator=generator).to(dev)
        keep = keys.argsort(1).argsort(1) < clues  # (count, L): ``clues`` random cells per row
        puzzles = torch.where(keep, grids, self.mask_id)
        return puzzles, grids
