"""Learning: the masked-diffusion denoiser, its Lightning training, presets and model files.

Modules (imported on demand; importing ``models`` itself loads nothing heavy):

* ``models.config``      ``ModelConfig`` (+ ``PRESETS``) and ``TrainConfig`` dataclasses
* ``models.denoiser``    ``Denoiser``: tokens (B, L) -> float32 logits (B, L, num_values)
* ``models.data``        datasets and the deterministic masked-batch stream, ``PuzzleDataModule``
* ``models.lightning``   ``MDMTrainer`` (loss, AdamW + warmup/cosine, validation) and ``EMA``
* ``models.validation``  private greedy top-1 fill for in-training validation
* ``models.checkpoint``  ``save_model`` / ``load_model`` for ``model.pt``
* ``models.train``       one training run (``unmask train``, wired in ``models.cli``)
"""
