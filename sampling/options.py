"""``SolveOptions``: how puzzles are solved, one frozen object made once (by the command line or
by the caller) and handed down whole to ``solve_puzzles``, ``run_bench`` and ``trace_puzzle``.

Every field but the sampler is declared with ``puzzles.options.option``: the flags of ``unmask
solve`` / ``bench`` / ``animate`` / ``plot order`` / ``view``, their ``--help`` and
``--print-config`` come from here. The sampler's own knobs are declared in its class
(``sampling.samplers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from puzzles.argtypes import int_at_least, nonneg_float, number, seed_int
from puzzles.options import option
from sampling.samplers import EBSampler, Sampler
from sampling.search import BRANCH_ENTROPY, DEFAULT_MAX_NFE, MODES, Search, branch_entropy_for

DEFAULT_RETRY_TEMPERATURE = 0.5


def _branch_defaults() -> str:
    known = ", ".join(f"{task} {value:g}" for task, value in BRANCH_ENTROPY.items())
    return f"the family's, measured on its held-out sets: {known}, others 0.02"


@dataclass(frozen=True, kw_only=True)
class SolveOptions:
    """How to solve: the sampler, the draw, the rules in the loop, the search, retries, and
    where and in what batches the model runs."""

    sampler: Sampler = field(default_factory=EBSampler)
    temperature: float = option(
        0.0, type=nonneg_float,
        help="0 places the most likely value; T > 0 draws from softmax(logits/T)",
    )  # fmt: skip
    seed: int = option(
        0, type=seed_int,
        help="seed for draws and random orders; the same puzzle and seed give the same answer "
        "in solve, animate, plot and view",
    )  # fmt: skip
    constrain: bool = option(
        False, help="give probability 0 to the values the puzzle's rules already rule out (a "
        "digit a peer holds, a path cell off every shortest path) before the error proxies are "
        "computed: a forced cell gets entropy 0 and is revealed in that pass",
    )  # fmt: skip
    propagate: bool = option(
        False, help="--constrain, and before every forward pass fill the cells the rules force "
        "(one value left), again until none is (no forward pass, no NFE), so the model sees "
        "them. The rules alone complete easy Sudokus and every perfect maze (NFE 0): a solving "
        "aid, not a measure of the model",
    )  # fmt: skip
    search: str = option(
        "none", choices=("none", *MODES),
        help="none (the sampler alone), backtrack (depth-first search over the sampler's "
        "guesses, undone when a rule breaks or the validator refuses the answer) or remask "
        "(mask the culprit again and ban its value)",
    )  # fmt: skip
    branch_entropy: float | None = option(
        None, type=nonneg_float, metavar="NATS", shown=_branch_defaults(),
        help="backtrack: a cell revealed with more entropy than this becomes a branch point "
        "(0 makes the search complete)",
    )  # fmt: skip
    max_nfe: int = option(
        DEFAULT_MAX_NFE, type=int_at_least(1, 100_000), metavar="N",
        help="search: forward passes per puzzle before it counts as failed",
    )  # fmt: skip
    retries: int = option(
        0, type=int_at_least(0, 1000), metavar="R",
        help="re-sample puzzles whose answer fails the validator up to R times",
    )  # fmt: skip
    retry_temperature: float | None = option(
        None, type=number(0.0, low_open=True), shown="--temperature if > 0, else 0.5",
        help="temperature of retries, > 0",
    )  # fmt: skip
    batch_size: int = option(256, type=int_at_least(1, 2**20), help="puzzles per forward pass")
    device: str = option("auto", help="auto (cuda when available), cpu or cuda")
    compile: bool | None = option(
        None, shown="on with CUDA, off on the CPU",
        help="run the model compiled in bf16 over bucketed batch sizes (sampling.fast)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if not isinstance(self.sampler, Sampler):
            raise ValueError(f"sampler must be a Sampler, got {self.sampler!r}")
        if self.search not in ("none", *MODES):
            raise ValueError(f"search must be none, {' or '.join(MODES)}, got {self.search!r}")
        for name in ("temperature",):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        for name, low in (("batch_size", 1), ("retries", 0), ("seed", 0), ("max_nfe", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")

    @property
    def rules(self) -> bool:
        """Whether the task's partial check is in the loop (``--constrain`` or ``--propagate``)."""
        return self.constrain or self.propagate

    @property
    def later_temperature(self) -> float:
        """The temperature of retries."""
        if self.retry_temperature is not None:
            return self.retry_temperature
        return self.temperature if self.temperature > 0 else DEFAULT_RETRY_TEMPERATURE

    def searcher(self, task: str) -> Search | None:
        """The ``Search`` these options ask for on family ``task`` (None: the sampler alone);
        the branch entropy is the family's measured default unless given."""
        if self.search == "none":
            return None
        entropy = self.branch_entropy
        return Search(self.search, branch_entropy_for(task) if entropy is None else entropy,
                      self.max_nfe)  # fmt: skip

    def search_config(self, task: str) -> dict | None:
        search = self.searcher(task)
        return None if search is None else search.config()


def as_options(opts: SolveOptions | Sampler) -> SolveOptions:
    """``opts`` itself, or a bare sampler as ``SolveOptions(sampler=...)`` (everything else at
    its default): the shorthand of the Python API."""
    return opts if isinstance(opts, SolveOptions) else SolveOptions(sampler=opts)
