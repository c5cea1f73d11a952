"""The Python example of README.md, runnable: the shipped 9x9 model, the EB-Sampler, the exact
validator, and the same puzzles solved again with backtracking search.

    python scripts/api_example.py | tee docs/results/api_example_cpu.txt
"""

import torch

from models.checkpoint import load_model
from puzzles.datasets import load_dataset
from puzzles.task import check_answers
from sampling.samplers import EBSampler
from sampling.search import Search

loaded = load_model(None, task="sudoku", size=9)  # None: the shipped model
ds = load_dataset("benchmarks/data/sudoku9_heldout.npz")
spec = loaded.spec
# (256, 81) token ids, the mask id in the blanks
tokens = torch.from_numpy(spec.encode_puzzle(ds.puzzles[:256]))
out = EBSampler(gamma=0.01).sample(loaded.model, tokens, spec.mask_id)
# out.tokens (256, 81), out.reveal_step (256, 81; -1 for givens), out.nfe (256,)
reasons = check_answers(spec, tokens, out.tokens)  # None where the answer is valid
print(
    f"EB alone: {sum(r is None for r in reasons)}/256 valid, mean NFE {out.nfe.float().mean():.2f}"
)
# The same sampler inside a depth-first search that takes back guesses that break a rule:
found = Search("backtrack").run(loaded.model, EBSampler(gamma=0.01), spec, tokens)
reasons = check_answers(spec, tokens, found.tokens)
print(
    f"EB + backtrack: {sum(r is None for r in reasons)}/256 valid, "
    f"mean NFE {found.nfe.float().mean():.2f} (every pass of every branch)"
)
