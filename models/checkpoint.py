"""The model file (``model.pt``): a self-describing, weights-only-safe torch file.

Layout (a plain dict; every value a tensor, str, number, bool, None, list or dict)::

    format          "unmask-model"
    format_version  2
    config          ModelConfig fields, the task's spec (TaskSpec fields) inside as "spec"
    vocabulary      what each token id means (for readers; the spec is what counts)
    state_dict      Denoiser weights in bfloat16 (rebuilt in float32 on load)
    summary         training facts: data, steps, seconds, val_solve_rate, lineage, ...

Version 1 (the shipped models of the first release) stored the task, size and spec beside a
flat config; ``load_model`` reads both versions.

``load_model`` reads it with ``torch.load(weights_only=True)``, so a file cannot run code. It
also accepts a Lightning checkpoint written by ``unmask train`` (``last.ckpt``, ``best.ckpt``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from models.config import ModelConfig
from models.denoiser import Denoiser
from puzzles.atomic import atomic_open
from puzzles.errors import UnmaskError
from puzzles.task import TaskSpec, get_task

FORMAT = "unmask-model"
FORMAT_VERSION = 2
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
_SAVE_DTYPE = torch.bfloat16


@dataclass
class LoadedModel:
    """A denoiser ready for inference (eval mode, float32, no grad) and what describes it."""

    model: Denoiser
    spec: TaskSpec
    config: ModelConfig
    summary: dict
    path: str


def shipped_path(task: str, size: int | None = None) -> Path:
    """Where the shipped model for (task, size) lives: ``models/shipped/{task}{size}.pt``; with
    ``size`` None the task's any-size model, ``models/shipped/{task}.pt``."""
    return SHIPPED_DIR / (f"{task}.pt" if size is None else f"{task}{size}.pt")


def describe(task: str, size: int) -> str:
    """'sudoku 9x9' or 'maze 10x10' (cells)."""
    return get_task(task).describe(size)


def save_model(
    path: str | os.PathLike,
    model: Denoiser | dict,
    summary: dict | None = None,
    config: ModelConfig | None = None,
) -> None:
    """Write ``model.pt`` atomically. ``model`` is a ``Denoiser`` or a state dict (then pass
    ``config``). Floating-point weights are stored in bfloat16."""
    if isinstance(model, Denoiser):
        config = model.cfg
        state = model.state_dict()
    else:
        if config is None:
            raise ValueError("save_model needs config when given a state dict")
        state = model
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "vocabulary": config.spec.family.vocabulary(config.spec),
        "state_dict": {
            k: (v.detach().to(_SAVE_DTYPE) if v.is_floating_point() else v.detach()).cpu()
            for k, v in state.items()
        },
        "summary": dict(summary or {}),
    }
    with atomic_open(path, "wb") as f:
        torch.save(payload, f)


def _read(path: Path, device) -> object:
    from puzzles.formats import check_input_file

    check_input_file(path)
    try:
        with warnings.catch_warnings():  # a foreign pickle: our one line, not torch's warning
            warnings.simplefilter("ignore")
            return torch.load(path, weights_only=True, map_location=device)
    except Exception as err:  # torch raises many types for damaged/foreign files
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
        raise UnmaskError(
            f"{path}: not a readable unmask model file (truncated or not ours: {reason})"
        ) from None


def _from_lightning(obj: dict, path: Path) -> dict:
    """Turn an ``unmask train`` Lightning checkpoint into the model-file layout."""
    hp = obj.get("hyper_parameters") or {}
    if "model_config" not in hp or "train_config" not in hp:
        raise UnmaskError(f"{path}: a Lightning checkpoint, but not one written by unmask train")
    state = obj.get("ema_state") or {
        k.removeprefix("denoiser."): v
        for k, v in obj["state_dict"].items()
        if k.startswith("denoiser.")
    }
    rates = obj.get("val_solve_rate") or {}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": hp["model_config"],
        "state_dict": state,
        "summary": {"steps": obj.get("global_step"), "val_solve_rate": rates.get("last")},
    }


def load_model(
    path: str | os.PathLike | None = None,
    task: str | None = None,
    size: int | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Load a model file (or an ``unmask train`` checkpoint) as a float32 ``Denoiser`` in eval mode.

    ``path`` None loads the shipped model for (``task``, ``size``), or else the task's shipped
    any-size model. When ``task``/``size`` are given they must match the file, except that a
    model that takes any grid size (rotary positions) matches every size of its task. Every
    problem (missing, truncated or foreign file, other task or size) raises ``UnmaskError``
    with a one-line message.
    """
    if path is None:
        if task is None or size is None:
            raise UnmaskError("no model file given; pass --checkpoint FILE")
        p = shipped_path(task, size)
        if not p.is_file() and shipped_path(task).is_file():
            p = shipped_path(task)
        if not p.is_file():
            raise UnmaskError(
                f"no shipped model for {describe(task, size)} ({p.name} is not in "
                f"models/shipped/); pass --checkpoint FILE (train one with `unmask train {task}`)"
            )
    else:
        p = Path(path)
        if not p.exists():
            raise UnmaskError(f"{p}: model file not found")
        if p.is_dir():
            cand = p / "model.pt"
            if not cand.is_file():
                raise UnmaskError(f"{p}: is a folder without model.pt")
            p = cand
    obj = _read(p, device)
    if isinstance(obj, dict) and "pytorch-lightning_version" in obj:
        obj = _from_lightning(obj, p)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UnmaskError(f"{p}: not an unmask model file (no '{FORMAT}' format tag)")
    version = obj.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise UnmaskError(
            f"{p}: model file format version {version!r} is newer than this unmask "
            f"understands ({FORMAT_VERSION}); upgrade unmask"
        )
    try:
        raw = dict(obj["config"])
        if version == 1 and "spec" in obj:  # version 1: the spec beside a flat config
            raw = {**raw, **{k: v for k, v in obj["spec"].items() if k != "task"}}
        config = ModelConfig.from_dict(raw)
        spec = config.spec
        file_task, file_size = spec.task, spec.size
        state = obj["state_dict"]
    except UnmaskError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise UnmaskError(f"{p}: damaged unmask model file ({err})") from None
    any_size = config.pos == "rope2d" and not config.block
    wrong_size = size is not None and int(size) != file_size and not any_size
    if (task is not None and task != file_task) or wrong_size:
        want = describe(task or file_task, size if size is not None else file_size)
        raise UnmaskError(
            f"{p}: model is for {describe(file_task, file_size)}, not {want}; "
            "pass a model trained for this puzzle"
        )
    model = Denoiser(config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in state.items()})  # fmt: skip
    except (RuntimeError, AttributeError) as err:
        first = str(err).strip().splitlines()[0]
        raise UnmaskError(f"{p}: weights do not match the stored config ({first})") from None
    bad = [k for k, v in model.state_dict().items() if v.is_floating_point() and
           not bool(torch.isfinite(v).all())]  # fmt: skip
    if bad:
        raise UnmaskError(f"{p}: the weights hold nan or inf ({bad[0]} and {len(bad) - 1} more); "
                          "the training that wrote it diverged")  # fmt: skip
    model = model.to(device).eval().requires_grad_(False)
    return LoadedModel(model, spec, config, dict(obj.get("summary") or {}), str(p))
