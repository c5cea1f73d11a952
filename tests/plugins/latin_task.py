"""A puzzle family the package does not know: n x n Latin-square completion.

Each row and each column must hold every symbol 1..n once. This module is all it takes to add
the family (``tests/puzzles/test_plugin_task.py`` runs it through every command); it uses only
the public ``puzzles.task`` interface.
"""

from __future__ import annotations

import numpy as np

from puzzles.task import Generated, PartialCheck, Task, TaskSpec, register_task


def _count_solutions(board: np.ndarray, limit: int = 2) -> tuple[int, np.ndarray | None]:
    """Solutions of a partial Latin square (0 = blank), counted up to ``limit``; and the first."""
    n = board.shape[0]
    b = board.copy()
    found: list[np.ndarray] = []

    def candidates(r: int, c: int) -> list[int]:
        used = set(b[r].tolist()) | set(b[:, c].tolist())
        return [v for v in range(1, n + 1) if v not in used]

    def visit() -> bool:
        blanks = np.argwhere(b == 0)
        if len(blanks) == 0:
            found.append(b.copy())
            return len(found) >= limit
        best = min(blanks.tolist(), key=lambda rc: len(candidates(*rc)))
        for v in candidates(*best):
            b[best[0], best[1]] = v
            if visit():
                return True
        b[best[0], best[1]] = 0
        return False

    visit()
    return len(found), (found[0] if found else None)


class LatinTask(Task):
    name = "latin"
    title = "Latin square"
    size_help = "side n, 3 to 9 (default 4)"
    default_size = 4
    token_offset = 1  # token = symbol - 1
    blank = 0
    max_code = 9

    def spec(self, size: int) -> TaskSpec:
        if not 3 <= int(size) <= 9:
            raise ValueError(f"Latin squares here are 3x3 to 9x9, got {size}")
        return TaskSpec("latin", size, size, num_values=size, mask_id=size, vocab_size=size + 1)

    def size_of(self, height: int, width: int) -> int:
        if height != width or not 3 <= height <= 9:
            raise ValueError(f"{height}x{width} is not a 3x3 to 9x9 Latin square")
        return int(height)

    def generate(self, rng: np.random.Generator, spec: TaskSpec, **options) -> Generated:
        n = spec.height
        base = (np.arange(n)[:, None] + np.arange(n)[None, :]) % n  # a cyclic square
        square = rng.permutation(n)[base[rng.permutation(n)][:, rng.permutation(n)]] + 1
        puzzle = square.astype(np.int8)
        for cell in rng.permutation(n * n).tolist():  # remove clues while the answer stays unique
            r, c = divmod(cell, n)
            keep = puzzle[r, c]
            puzzle[r, c] = 0
            if _count_solutions(puzzle)[0] != 1:
                puzzle[r, c] = keep
        return Generated(puzzle, square.astype(np.int8), {"clues": int((puzzle > 0).sum())})

    def check_answer(self, puzzle, answer) -> str | None:
        p, a = np.asarray(puzzle), np.asarray(answer)
        n = p.shape[0]
        changed = np.argwhere((p != 0) & (a != p))
        if len(changed):
            return f"r{changed[0][0] + 1}c{changed[0][1] + 1} changes a given"
        for kind, lines in (("row", a), ("column", a.T)):
            for k, line in enumerate(lines):
                if sorted(line.tolist()) != list(range(1, n + 1)):
                    return f"{kind} {k + 1} is not a permutation of 1..{n}"
        return None

    def solve(self, puzzle) -> np.ndarray | None:
        return _count_solutions(np.asarray(puzzle), limit=1)[1]

    def partial_check(self, spec: TaskSpec, tokens):
        import torch

        n = spec.num_values
        B = tokens.shape[0]
        grid = tokens.view(B, n, n)
        masked = grid == spec.mask_id
        onehot = torch.nn.functional.one_hot(grid.clamp(max=n - 1), n) & ~masked[..., None]
        rows = onehot.sum(2, keepdim=True)  # (B, n, 1, V) symbols per row
        cols = onehot.sum(1, keepdim=True)  # (B, 1, n, V) symbols per column
        mine = onehot.bool()
        conflict = ((rows > 1) | (cols > 1)) & mine  # a symbol held twice in a line
        allowed = ((rows + cols) == 0) | ~masked[..., None]
        L = spec.num_cells
        return PartialCheck(masked.view(B, L), conflict.any(-1).view(B, L), allowed.view(B, L, n))

    def symmetry_pool(self, rng: np.random.Generator, spec: TaskSpec, size: int):
        n = spec.height
        cells, tokens = [], []
        for _ in range(size):
            perm = rng.permutation(n)[:, None] * n + rng.permutation(n)[None, :]  # rows, cols
            if rng.random() < 0.5:
                perm = perm.T
            cells.append(perm.ravel())
            tokens.append(np.concatenate([rng.permutation(n), [n]]))  # relabel; mask stays
        return np.stack(cells), np.stack(tokens)


TASK = register_task(LatinTask())
