"""Typed configuration for the denoiser and for a training run.

``ModelConfig`` is stored inside every checkpoint and model file, so a model rebuilds from its
file alone. ``TrainConfig`` is the resolved set of training options written to
``DIR/config.json`` by ``unmask train``. Neither imports torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

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
    d_model: int = 64
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.0
    pos: str = "rowcol"  # 2-D position signal; "learned1d" only for comparisons
    norm: str = "layernorm"
    mlp: str = "gelu"
    bias: bool = True
    rope_base: float = 100.0  # rotary base for "rope2d" (grids are short: <= ~41 per axis)
    block: int = 0  # > 0: also a learned embedding of each cell's block of block x block cells
    n_loops: int = 1  # the stack of blocks applied this many times with the same weights

    def __post_init__(self) -> None:
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
        if self.n_loops < 1:
            raise ValueError(f"n_loops must be >= 1, got {self.n_loops}")

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


@dataclass
class TrainConfig:
    """Resolved training options of one ``unmask train`` run (saved as DIR/config.json)."""

    task: str
    size: int  # Sudoku n or maze cells per side
    preset: str
    seed: int
    steps: int
    batch_size: int  # per device
    lr: float
    weight_decay: float
    warmup_steps: int
    min_lr_ratio: float  # cosine decays to lr * min_lr_ratio
    grad_clip: float
    ema: float  # 0 = off; else decay of the weight EMA used for validation and export
    elbo_weight: bool  # weight each example's loss by 1/t instead of a mean over masked cells
    clue_mask_prob: float  # Sudoku: chance an example is masked inside a real puzzle's blanks
    augment: bool
    train_size: int  # generated training examples (ignored with --data)
    val_size: int
    val_every: int  # steps between validation solve-rate checks
    ckpt_every: int  # steps between DIR/last.ckpt writes
    log_every: int
    data: str | None  # dataset file(s), comma-separated; else generated
    val_data: str | None
    generator: str | None  # the task's generator for generated data (None: its default)
    precision: str
    compile: bool
    num_workers: int  # DataLoader worker processes
    device_batches: bool = False  # make batches with torch on the training device
    sizes: list[int] | None = None  # several grid sizes in one run (rotary positions only)
    init: str | None = None  # start from this model file's weights (its lineage is kept)
    fresh_grids: float = 0.0  # share of rows masked over new random solutions each step

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
