"""The LightningModule that trains a ``Denoiser`` with the masked-diffusion loss.

The backbone stays a plain ``nn.Module`` (``models.denoiser``); this module owns the loss, the
optimizer and schedule, the weight EMA and the validation solve rate, nothing else.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F

from models.config import ModelConfig, TrainConfig
from models.denoiser import Denoiser
from models.validation import check_answers, greedy_fill
from puzzles.tokens import spec_for


def mdm_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    masked: torch.Tensor,
    t: torch.Tensor,
    elbo_weight: bool = False,
) -> torch.Tensor:
    """Absorbing-state masked-diffusion loss.

    logits (B, L, V) float, target (B, L) long, masked (B, L) bool (>= 1 per row), t (B,).
    Default: mean cross-entropy over all masked cells of the batch. ``elbo_weight``: each row's
    summed masked cross-entropy weighted by 1/t and divided by its cell count, averaged over rows
    (the continuous-time ELBO up to a constant).
    """
    # Unmasked cells are not scored; zero their targets (maze context ids are >= V).
    target = torch.where(masked, target, torch.zeros_like(target))  # (B, L)
    ce = F.cross_entropy(logits.transpose(1, 2), target, reduction="none")  # (B, L)
    ce = ce * masked
    if not elbo_weight:
        return ce.sum() / masked.sum().clamp(min=1)
    per_row = ce.sum(dim=1) / (t * target.shape[1])  # (B,)
    return per_row.mean()


class MDMTrainer(L.LightningModule):
    """Masked-diffusion training of a ``Denoiser``: loss, AdamW + warmup/cosine, EMA, validation.

    ``model_config`` and ``train_config`` are plain dicts (saved as hyperparameters, so a
    Lightning checkpoint rebuilds the run).
    """

    def __init__(self, model_config: dict, train_config: dict):
        super().__init__()
        self.save_hyperparameters()
        self.model_cfg = ModelConfig.from_dict(model_config)
        self.cfg = TrainConfig(**train_config)
        self.spec = spec_for(self.cfg.task, self.cfg.size)
        self.denoiser = Denoiser(self.model_cfg)
        # EMA of the weights as plain tensors (not parameters); saved via on_save_checkpoint.
        self.ema_state: dict[str, torch.Tensor] | None = None
        if self.cfg.ema > 0:
            self.ema_state = {
                k: v.detach().clone().float() for k, v in self.denoiser.state_dict().items()
            }
        self._backup: dict[str, torch.Tensor] | None = None
        self._val_solved = 0
        self._val_total = 0
        self._val_failures: list[str] = []
        self.best_val_solve_rate: float | None = None
        self.last_val_solve_rate: float | None = None

    # --- forward paths ---------------------------------------------------------------------
    def compile_denoiser(self) -> None:
        """Use ``torch.compile`` for the training forward (validation stays eager: its batch
        sizes vary)."""
        self.__dict__["_compiled"] = torch.compile(self.denoiser)

    def _train_forward(self, tokens: torch.Tensor) -> torch.Tensor:
        compiled = self.__dict__.get("_compiled")  # `or` would call nn.Module.__len__
        return (compiled if compiled is not None else self.denoiser)(tokens)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.denoiser(tokens)

    # --- training --------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        tokens, target, masked = batch["tokens"], batch["target"], batch["masked"]  # (B, L)
        logits = self._train_forward(tokens)  # (B, L, V) float32
        loss = mdm_loss(logits, target, masked, batch["t"], self.cfg.elbo_weight)
        with torch.no_grad():
            hit = (logits.argmax(dim=-1) == target) & masked  # (B, L)
            acc = hit.sum() / masked.sum().clamp(min=1)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", acc, prog_bar=True)
        return loss

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, p in self.denoiser.named_parameters():
            # Weight decay on matrices only; biases, norm gains and embeddings are left alone.
            is_matrix = p.dim() >= 2 and "emb" not in name
            (decay if is_matrix else no_decay).append(p)
        opt = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.cfg.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.cfg.lr,
            betas=(0.9, 0.98),
            fused=None,
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, self._lr_factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _lr_factor(self, step: int) -> float:
        """Linear warmup to 1, then cosine decay to ``min_lr_ratio`` at ``steps``."""
        warm, total, floor = self.cfg.warmup_steps, self.cfg.steps, self.cfg.min_lr_ratio
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def optimizer_step(self, *args, **kwargs) -> None:
        # EMA update right after the weights change, before any callback can save a checkpoint.
        super().optimizer_step(*args, **kwargs)
        if self.ema_state is not None:
            self._update_ema()

    @torch.no_grad()
    def _update_ema(self) -> None:
        live = self.denoiser.state_dict()
        keys = [k for k, v in live.items() if v.is_floating_point()]
        for k in keys:  # lazily follow the module to its device (the EMA starts on the CPU)
            if self.ema_state[k].device != live[k].device:
                self.ema_state[k] = self.ema_state[k].to(live[k].device)
        # ema <- ema + (1 - decay) * (live - ema), one fused call over all tensors
        torch._foreach_lerp_(
            [self.ema_state[k] for k in keys], [live[k].float() for k in keys], 1.0 - self.cfg.ema
        )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        if self.ema_state is not None:
            checkpoint["ema_state"] = {k: v.detach().cpu() for k, v in self.ema_state.items()}
        checkpoint["val_solve_rate"] = {
            "best": self.best_val_solve_rate,
            "last": self.last_val_solve_rate,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "ema_state" in checkpoint and self.ema_state is not None:
            self.ema_state = {k: v.float() for k, v in checkpoint["ema_state"].items()}
        rates = checkpoint.get("val_solve_rate", {})
        self.best_val_solve_rate = rates.get("best")
        self.last_val_solve_rate = rates.get("last")

    def export_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights to ship: the EMA when it is on, else the live weights (float32, CPU)."""
        src = self.ema_state if self.ema_state is not None else self.denoiser.state_dict()
        return {k: v.detach().float().cpu().clone() for k, v in src.items()}

    # --- validation: greedy top-1 solve rate ------------------------------------------------
    def _swap_in_ema(self) -> None:
        if self.ema_state is None:
            return
        sd = self.denoiser.state_dict()
        self._backup = {k: v.detach().clone() for k, v in sd.items()}
        self.denoiser.load_state_dict({k: self.ema_state[k].to(sd[k].dtype) for k in sd})

    def _swap_out_ema(self) -> None:
        if self._backup is not None:
            self.denoiser.load_state_dict(self._backup)
            self._backup = None

    def on_validation_start(self) -> None:
        self._swap_in_ema()
        self._val_solved = self._val_total = 0
        self._val_failures = []

    def validation_step(self, batch, batch_idx: int) -> None:
        puzzle_tokens, _ = batch  # (B, L) each
        answers = greedy_fill(self.denoiser, puzzle_tokens, self.spec.mask_id)  # (B, L)
        reasons = check_answers(self.spec, puzzle_tokens, answers)
        self._val_solved += sum(r is None for r in reasons)
        self._val_total += len(reasons)
        self._val_failures += [r for r in reasons if r is not None][:3]

    def on_validation_epoch_end(self) -> None:
        rate = self._val_solved / max(self._val_total, 1)
        self.last_val_solve_rate = rate
        if self.best_val_solve_rate is None or rate > self.best_val_solve_rate:
            self.best_val_solve_rate = rate
        self.log("val/solve_rate", rate, prog_bar=True, sync_dist=True)
        # Restore the live weights here, before ModelCheckpoint saves in on_validation_end.
        self._swap_out_ema()
