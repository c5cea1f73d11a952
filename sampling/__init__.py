"""Inference: the unmasking loop, the samplers, search with the validator in the loop, and the
solve and bench runs. A sampler takes the model as an argument; nothing here trains.

* ``sampling.step``      the one pass every loop shares (``unmask_step``), the per-row state
                         of a batch (``Board``), ``SampleResult`` and the recorded ``Event``
* ``sampling.stats``     ``CellStats``: entropy, confidence and margin of one pass
* ``sampling.samplers``  ``Sampler`` (the plain loop) and the five samplers (eb, topk, random,
                         threshold, dus), each a dataclass of declared knobs; ``SAMPLERS``
* ``sampling.options``   ``SolveOptions``: every solve option, made once, handed down whole
* ``sampling.dilation``  DUS's plans: integer bit arithmetic on positions
* ``sampling.specs``     samplers by name and the ``--samplers`` spec strings
* ``sampling.rng``       counter-based per-row randomness
* ``sampling.solve``     batches, devices, validation, retries, the model loader, traces
* ``sampling.bench``     the sampler comparison table
* ``sampling.oracle``    an exact 4x4 Sudoku denoiser
* ``sampling.cli``       ``unmask solve`` and ``unmask bench``
"""
