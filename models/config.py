"""Typed configuration for the denoiser and for a training run, each option declared once.

``ModelConfig`` is stored inside every checkpoint and model file, so a model rebuilds from its
file alone. ``TrainConfig`` is the resolved set of training options written to
``DIR/config.json`` by ``unmask train``. Every field that is a command-line option is declared
with ``puzzles.options.option`` (default, help, type): ``unmask train``'s flags, ``--help``,
``--print-config`` and ``--config`` are made from these declarations. Defaults that depend on
the preset or the family sit in the tables at the end (``PRESETS``, ``PRESET_TRAIN``,
``family_train_defaults``). Neither imports torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace

from puzzles.argtypes import (
    fraction,
    int_at_least,
    nonneg_float,
    nonneg_int,
    number,
    positive_float,
    positive_int,
    seed_int,
)
from puzzles.options import option
from puzzles.task import TaskSpec

# The grid fields that model files of format version 1 stored flat in their config.
_LEGACY_SPEC_KEYS = ("task", "height", "width", "num_values", "vocab_size", "mask_id")

POSITIONS = ("rowcol", "rope2d", "learned1d")
# What Lightning accepts for Trainer(precision=...).
PRECISIONS = ("32-true", "32", "16-mixed", "bf16-mixed", "bf16-true", "16-true", "64-true")
NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "swiglu")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the bidirectional transformer denoiser.

    ``spec`` is the task's grid and vocabulary (held here once; the model file stores it inside
    this config); the rest comes from a preset.
    """

    spec: TaskSpec
    d_model: int = option(64, help="width", type=positive_int, shown="the preset's")
    n_layers: int = option(4, help="transformer blocks", type=positive_int, shown="the preset's")
    n_heads: int = option(4, help="attention heads", type=positive_int, shown="the preset's")
    d_ff: int = option(256, help="MLP width", type=positive_int, shown="the preset's")
    dropout: float = option(0.0, help="dropout rate", type=number(0.0, 1.0, high_open=True))
    pos: str = option(
        "rowcol", choices=POSITIONS,
        help="position signal: rowcol (summed row and column embeddings), rope2d (2-D rotary: "
        "any grid size) or learned1d (only for comparisons)",
    )  # fmt: skip
    norm: str = option("layernorm", help="normalisation", choices=NORMS)
    mlp: str = option("gelu", help="MLP activation", choices=MLPS)
    bias: bool = option(True, help="biases in the linear layers")
    rope_base: float = option(
        100.0, help="rotary base for rope2d (grids are short: <= ~41 per axis)",
        type=positive_float,
    )  # fmt: skip
    block: int = option(
        0, type=nonneg_int, help="add a learned embedding of each cell's block x block block "
        "(Sudoku: its box, 3; 0: none)",
    )  # fmt: skip
    n_loops: int = option(
        1, help="apply the stack of blocks this many times with the same weights",
        type=positive_int,
    )  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("d_model", "n_layers", "n_heads", "d_ff", "n_loops"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.pos not in POSITIONS:
            raise ValueError(f"pos must be one of {POSITIONS}, got {self.pos!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.mlp not in MLPS:
            raise ValueError(f"mlp must be one of {MLPS}, got {self.mlp!r}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.pos == "rope2d" and (self.d_model // self.n_heads) % 4 != 0:
            raise ValueError("rope2d needs a head dimension divisible by 4")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.block < 0 or (self.block and (self.height % self.block or self.width % self.block)):
            raise ValueError(f"block {self.block} does not tile a {self.height}x{self.width} grid")

    # --- the grid, from the spec (read-only views) -------------------------------------------
    task = property(lambda self: self.spec.task)
    height = property(lambda self: self.spec.height)
    width = property(lambda self: self.spec.width)
    num_values = property(lambda self: self.spec.num_values)  # logits per cell
    vocab_size = property(lambda self: self.spec.vocab_size)
    mask_id = property(lambda self: self.spec.mask_id)

    @property
    def seq_len(self) -> int:
        return self.height * self.width

    def to_dict(self) -> dict:
        """Plain data: the network's fields and ``spec`` as a dict of its own."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Rebuild from ``to_dict`` output, or from a version-1 file's flat config (grid fields
        beside the network's). Unknown keys are an error (a newer file)."""
        d = dict(d)
        if "spec" in d:
            spec = TaskSpec(**d.pop("spec"))
        else:
            missing = [k for k in _LEGACY_SPEC_KEYS if k not in d]
            if missing:
                raise ValueError(f"model config has no spec (missing {missing})")
            spec = TaskSpec(**{k: d.pop(k) for k in _LEGACY_SPEC_KEYS})
        names = {f.name for f in fields(cls)} - {"spec"}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}")
        return cls(spec=spec, **d)

    @classmethod
    def from_spec(cls, spec: TaskSpec, preset: str = "tiny", **overrides) -> ModelConfig:
        """Config for ``spec``'s grid and vocabulary with the sizes of ``PRESETS[preset]``."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        base = cls(spec=spec, **PRESETS[preset])
        return replace(base, **overrides) if overrides else base


# Presets: only the network's sizes; the grid comes from the task.
# tiny:  4 x (4*64^2 + 2*64*256) + biases/norms ~ 0.20M parameters; trains 4x4 Sudoku on a CPU.
# small: 8 x (4*256^2 + 2*256*1024) + biases/norms ~ 6.32M parameters (the EB-Sampler paper's
#        puzzle-model size).
PRESETS: dict[str, dict] = {
    "tiny": dict(d_model=64, n_layers=4, n_heads=4, d_ff=256),
    "small": dict(d_model=256, n_layers=8, n_heads=8, d_ff=1024),
}


def _size_list(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 5,7,9, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes like 5,7,9, got {text!r}")
    return sorted(set(sizes))


_BY_PRESET = "by preset and family"


@dataclass
class TrainConfig:
    """Resolved training options of one ``unmask train`` run (saved as DIR/config.json).

    The declared defaults are the generic ones of the ``small`` preset; ``default_config``
    lays the preset's and the family's over them (``PRESET_TRAIN``, ``family_train_defaults``)
    and derives the schedule's intervals from ``steps`` where they are None.
    """

    task: str
    size: int  # Sudoku n or maze cells per side
    preset: str = option("small", help="network size: tiny (~0.2M parameters, CPU) or small "
                         "(~6.3M, GPU)", choices=("tiny", "small"))  # fmt: skip
    seed: int = option(0, help="seeds data, masks and initial weights", type=seed_int)
    steps: int = option(
        40000, help="optimizer steps in total", type=positive_int,
        shown="small 40000, tiny 3000; 4x4 Sudoku 2000, tiny 600",
    )  # fmt: skip
    batch_size: int = option(256, help="examples per step per device", type=int_at_least(1, 2**20),
                             shown="small 256, tiny 128")  # fmt: skip
    lr: float = option(5e-4, help="peak AdamW learning rate", type=positive_float,
                       shown="small 5e-4, tiny 1e-3")  # fmt: skip
    weight_decay: float = option(0.05, help="AdamW weight decay on weight matrices",
                                 type=nonneg_float)  # fmt: skip
    warmup_steps: int | None = option(None, help="linear warm-up steps before cosine decay",
                                      type=nonneg_int, shown="steps / 20, at most 1000")  # fmt: skip
    min_lr_ratio: float = option(0.1, help="the cosine decays to lr x this", type=fraction)
    grad_clip: float = option(1.0, help="gradient norm clipping", type=positive_float)
    ema: float = option(
        0.999, help="decay of a weight EMA used for validation and model.pt (0 = off)",
        type=number(0.0, 1.0, high_open=True), shown="small 0.999, tiny 0",
    )  # fmt: skip
    elbo_weight: bool = option(
        False, help="weight each example's loss by 1/t (ELBO) instead of a plain mean over "
        "masked cells",
    )  # fmt: skip
    clue_mask_prob: float = option(
        0.0, type=fraction, shown="0; Sudoku 0.5",
        help="chance that an example is masked within a real puzzle's blanks instead of over "
        "all its value cells",
    )  # fmt: skip
    augment: bool = option(True, help="random symmetries (Sudoku transforms, maze rotations)")
    train_size: int = option(20000, help="puzzles to generate for training", type=positive_int,
                             shown="20000; Sudoku 9x9 50000, other Sudoku 2000")  # fmt: skip
    val_size: int = option(256, help="validation puzzles", type=positive_int)
    val_every: int | None = option(None, help="steps between validation solve-rate checks",
                                   type=positive_int, shown="small 2000, tiny 200")  # fmt: skip
    ckpt_every: int | None = option(None, help="steps between writes of last.ckpt",
                                    type=positive_int, shown="small 1000, tiny 200")  # fmt: skip
    log_every: int | None = option(None, help="steps between logged metrics", type=positive_int,
                                   shown="steps / 10, at most 50")  # fmt: skip
    data: str | None = option(
        None, help="training set from `unmask generate` (.npz, .txt, .csv); several files "
        "separated by commas are concatenated", shown="generate --train-size puzzles from --seed",
    )  # fmt: skip
    val_data: str | None = option(
        None, help="validation set file (needs --data)",
        shown="held out of --data, or generated with a separate seed",
    )  # fmt: skip
    generator: str | None = option(None, help="generator for generated data",
                                   shown="the family's first")  # fmt: skip
    precision: str | None = option(None, help="Lightning precision", choices=PRECISIONS,
                                   shown="bf16-mixed on GPU, 32-true on CPU")  # fmt: skip
    compile: bool = option(False, help="torch.compile the denoiser's training forward (GPU)")
    num_workers: int = option(0, help="DataLoader worker processes", type=int_at_least(0, 256))
    device_batches: bool | None = option(
        None, help="make each batch with torch on the training device", shown="on with a GPU"
    )
    sizes: list[int] | None = option(
        None, type=_size_list,
        help="train one model on several sizes (comma-separated, e.g. 5,7,9,11; needs --pos "
        "rope2d): each step is a batch of one size with about the cells of a --size batch",
    )  # fmt: skip
    init: str | None = option(
        None, metavar="MODEL", help="start from this model file's weights and network (a new "
        "schedule; the model's summary keeps the earlier runs in its lineage)",
    )  # fmt: skip
    fresh_grids: float = option(
        0.0, type=fraction, help="share of the rows of each batch masked over new random "
        "solutions instead of the training set",
    )  # fmt: skip

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Rebuild from ``to_dict`` output, or from an older run's config.json (which named the
        generator ``maze_algorithm``)."""
        from puzzles.task import get_task

        d = dict(d)
        if "maze_algorithm" in d:
            legacy = d.pop("maze_algorithm")
            known = get_task(d["task"]).generators
            d.setdefault("generator", legacy if legacy in known else None)
        return cls(**d)


# Training defaults over TrainConfig's declared ones: the tiny preset's (a CPU run), then the
# family's. A family registers its own with ``register_train_defaults``.
PRESET_TRAIN: dict[str, dict] = {"tiny": dict(steps=3000, batch_size=128, lr=1e-3, ema=0.0)}

_FAMILY_TRAIN: dict[str, Callable[[int, bool], dict]] = {}


def register_train_defaults(task: str, defaults: Callable[[int, bool], dict]) -> None:
    """``defaults(size, tiny) -> {option: value}``: training defaults that suit family
    ``task`` (over the preset's)."""
    _FAMILY_TRAIN[task] = defaults


def family_train_defaults(task: str, size: int, tiny: bool) -> dict:
    """The family's training defaults at ``size`` (``{}`` for a family that registered none)."""
    defaults = _FAMILY_TRAIN.get(task)
    return {} if defaults is None else defaults(size, tiny)


def _sudoku_train(size: int, tiny: bool) -> dict:
    # clue_mask_prob: half the rows masked inside a real puzzle's blanks
    steps = (600 if tiny else 2000) if size == 4 else 40000
    return {"steps": steps, "train_size": {9: 50000}.get(size, 2000), "clue_mask_prob": 0.5}


register_train_defaults("sudoku", _sudoku_train)
register_train_defaults("maze", lambda size, tiny: {"train_size": 20000})


def _devices(text: str):
    """Lightning's --devices syntax: auto, a count, -1 (all), or a comma list of indices."""
    t = text.strip()
    if t == "auto" or t == "-1":
        return t if t == "auto" else -1
    if t.isdigit() and 1 <= int(t) <= 4096:
        return int(t)
    parts = [p.strip() for p in t.split(",") if p.strip()]
    if parts and all(p.isdigit() and len(p) <= 4 for p in parts):
        return t
    raise argparse.ArgumentTypeError(
        f"expected auto, a device count, -1 or a comma list of device indices, got {text!r}"
    )


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """How a run runs, not what it learns (saved as config.json's "runtime")."""

    accelerator: str = option("auto", help="Lightning accelerator",
                              choices=("auto", "cpu", "gpu", "cuda", "mps"))  # fmt: skip
    devices: str | int = option("auto", help="devices per node", type=_devices)
    num_nodes: int = option(1, help="nodes for multi-node DDP", type=positive_int)
    strategy: str = option("auto", help="Lightning strategy (auto, ddp, fsdp, ...)")
    max_minutes: float | None = option(
        None, type=positive_float, shown="no limit",
        help="stop after this many minutes of wall time and export model.pt as it is then (the "
        "cosine schedule still spans --steps)",
    )  # fmt: skip
    progress: bool = option(True, help="progress bars")
