"""Inference: the unmasking loop, the samplers, search with the validator in the loop, and the
solve and bench runs. A sampler takes the model as an argument; nothing here trains.

* ``sampling.loop``      ``Sampler`` (the shared loop) and the pieces of one pass
* ``sampling.stats``     ``CellStats``: entropy, confidence and margin of one pass
* ``sampling.samplers``  the five samplers (eb, topk, random, threshold, dus), ``SAMPLERS``
* ``sampling.dilation``  DUS's plans: integer bit arithmetic on positions
* ``sampling.specs``     samplers by name and the ``--samplers`` spec strings
* ``sampling.rng``       counter-based per-row randomness
* ``sampling.solve``     batches, devices, validation, retries, the model loader, traces
* ``sampling.bench``     the sampler comparison table
* ``sampling.oracle``    an exact 4x4 Sudoku denoiser
* ``sampling.cli``       ``unmask solve`` and ``unmask bench``
"""
