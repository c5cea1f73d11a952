"""Presentation: animations of the unmasking order and static figures.

Reads sampler traces (``sampling.base.SampleResult``) and files; never runs a sampling loop.

* ``viz.trace``: pure frame data (``frame_states``, ``frame_steps``, ``row_trace``).
* ``viz.board``: one Sudoku or maze board on a matplotlib ``Axes``.
* ``viz.animate``: ``AnimationFigure`` and ``write_animation`` (GIF always, MP4 with ffmpeg).
* ``viz.plots``: ``order_figure``, ``bench_figure``, ``training_figure``, ``save_figure``.
* ``viz.cli``: ``unmask animate`` and ``unmask plot order|bench|training``.
"""
