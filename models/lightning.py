"""The LightningModule that trains a ``Denoiser`` with the masked-diffusion loss, and the EMA
callback.

The backbone stays a plain ``nn.Module`` (``models.denoiser``); ``MDMTrainer`` owns the loss,
the optimizer and schedule and the validation solve rate, nothing else; ``EMA`` keeps the
weight average.
"""

from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback

from models.config import ModelConfig, TrainConfig
from models.denoiser import Denoiser
from models.validation import greedy_fill
from puzzles.errors import UnmaskError
from puzzles.task import check_answers


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
    """Masked-diffusion training of a ``Denoiser``: loss, AdamW + warmup/cosine, validation.

    ``model_config`` and ``train_config`` are plain dicts (saved as hyperparameters, so a
    Lightning checkpoint rebuilds the run). The weight EMA is a callback (``EMA``) that swaps
    its weights in for validation.
    """

    def __init__(self, model_config: dict, train_config: dict):
        super().__init__()
        self.save_hyperparameters()
        self.model_cfg = ModelConfig.from_dict(model_config)
        self.cfg = TrainConfig.from_dict(train_config)
        self.spec = self.model_cfg.spec
        self.denoiser = Denoiser(self.model_cfg)
        self._val_solved = 0
        self._val_total = 0
        self._val_failures: list[str] = []
        self.best_val_solve_rate: float | None = None
        self.last_val_solve_rate: float | None = None
        self.last_val_step: int | None = None
        self.print_validation = True

    @property
    def flops_per_batch(self) -> int:
        """6 x parameters x cells per training batch (forward and backward; attention's own
        L^2 term left out), for Lightning's ThroughputMonitor (a batch of another --size holds
        about as many cells)."""
        return 6 * self.denoiser.num_parameters() * self.cfg.batch_size * self.spec.num_cells

    # --- forward paths ---------------------------------------------------------------------
    def compile_denoiser(self) -> None:
        """Use ``torch.compile`` for the training forward (validation stays eager: its batch
        sizes vary)."""
        self.__dict__["_compiled"] = torch.compile(self.denoiser)

    def _train_forward(self, tokens: torch.Tensor, grid=None) -> torch.Tensor:
        compiled = self.__dict__.get("_compiled")  # `or` would call nn.Module.__len__
        return (compiled if compiled is not None else self.denoiser)(tokens, grid)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.denoiser(tokens)

    # --- training --------------------------------------------------------------------------
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        tokens, target, masked = batch["tokens"], batch["target"], batch["masked"]  # (B, L)
        logits = self._train_forward(tokens, batch.get("grid"))  # (B, L, V) float32
        loss = mdm_loss(logits, target, masked, batch["t"], self.cfg.elbo_weight)
        with torch.no_grad():
            hit = (logits.argmax(dim=-1) == target) & masked  # (B, L)
            acc = hit.sum() / masked.sum().clamp(min=1)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", acc, prog_bar=True)
        step = self.global_step
        if step % self.cfg.log_every == 0 and not torch.isfinite(loss.detach()):  # a sync per log
            raise UnmaskError(
                f"training diverged: the loss is {float(loss)} at step {step} (--lr "
                f"{self.cfg.lr:g}); lower --lr or raise --warmup-steps"
            )
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
            fused=True if next(self.denoiser.parameters()).is_cuda else None,  # one kernel
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

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["val_solve_rate"] = {
            "best": self.best_val_solve_rate,
            "last": self.last_val_solve_rate,
            "last_step": self.last_val_step,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        rates = checkpoint.get("val_solve_rate", {})
        self.best_val_solve_rate = rates.get("best")
        self.last_val_solve_rate = rates.get("last")
        self.last_val_step = rates.get("last_step")

    # --- validation: greedy top-1 solve rate ------------------------------------------------
    def on_validation_start(self) -> None:
        self._val_solved = self._val_total = 0
        self._val_failures = []

    def validation_step(self, batch, batch_idx: int) -> None:
        puzzle_tokens, _ = batch  # (B, L) each
        answers = greedy_fill(self.denoiser, puzzle_tokens, self.spec.mask_id)  # (B, L)
        reasons = check_answers(self.spec, puzzle_tokens, answers)
        for i, r in enumerate(reasons):
            if r is not None and len(self._val_failures) < 3:
                self._val_failures.append(f"puzzle {self._val_total + i + 1}: {r}")
        self._val_solved += sum(r is None for r in reasons)
        self._val_total += len(reasons)

    def on_validation_epoch_end(self) -> None:
        rate = self._val_solved / max(self._val_total, 1)
        self.last_val_solve_rate = rate
        self.last_val_step = int(self.global_step)
        if self.best_val_solve_rate is None or rate > self.best_val_solve_rate:
            self.best_val_solve_rate = rate
        self.log("val/solve_rate", rate, prog_bar=True, sync_dist=True)
        if self.print_validation and self.trainer.is_global_zero:
            fails = "; ".join(self._val_failures)
            print(
                f"validation at step {self.global_step}: {self._val_solved}/{self._val_total} "
                f"solved by greedy top-1 ({100 * rate:.1f}%)"
                + (f"; e.g. {fails}" if fails else ""),
                flush=True,
            )


class EMA(Callback):
    """Exponential moving average of the denoiser's weights, as a Lightning callback.

    After every optimizer step: ema <- ema + (1 - decay) * (live - ema), one fused ``foreach``
    call over all tensors, in float32. Validation runs on the average (swapped in and out
    around each validation epoch); ``averaged_state`` is what ``model.pt`` ships. Checkpoints
    carry the average under the key ``ema_state`` (Lightning runs its checkpoint callbacks
    after every other callback, so a checkpoint written at step k holds the average of step k),
    and a resumed run continues it bit for bit.
    """

    def __init__(self, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.state: dict[str, torch.Tensor] | None = None
        self._backup: dict[str, torch.Tensor] | None = None

    @staticmethod
    def _live(pl_module) -> dict[str, torch.Tensor]:
        return pl_module.denoiser.state_dict()

    def on_fit_start(self, trainer, pl_module) -> None:
        if self.state is None:  # else restored from a checkpoint
            self.state = {k: v.detach().clone().float() for k, v in self._live(pl_module).items()}

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        live = self._live(pl_module)
        keys = [k for k, v in live.items() if v.is_floating_point()]
        for k in keys:  # follow the module to its device (a restored average starts on the CPU)
            if self.state[k].device != live[k].device:
                self.state[k] = self.state[k].to(live[k].device)
        torch._foreach_lerp_(
            [self.state[k] for k in keys], [live[k].float() for k in keys], 1.0 - self.decay
        )

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        if self.state is None:
            return
        live = self._live(pl_module)
        self._backup = {k: v.detach().clone() for k, v in live.items()}
        pl_module.denoiser.load_state_dict(
            {k: self.state[k].to(device=live[k].device, dtype=live[k].dtype) for k in live}
        )

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        # Restore the live weights before ModelCheckpoint saves in on_validation_end.
        if self._backup is not None:
            pl_module.denoiser.load_state_dict(self._backup)
            self._backup = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if self.state is not None:
            checkpoint["ema_state"] = {k: v.detach().cpu() for k, v in self.state.items()}

    def on_load_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        if "ema_state" in checkpoint:
            self.state = {k: v.float() for k, v in checkpoint["ema_state"].items()}

    def averaged_state(self) -> dict[str, torch.Tensor]:
        """The averaged weights, float32 on the CPU."""
        return {k: v.detach().float().cpu().clone() for k, v in self.state.items()}
