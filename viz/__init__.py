"""Presentation: animations of the unmasking order and static figures.

Reads sampler traces (``sampling.step.SampleResult``) and files; never runs a sampling loop.

* ``viz.renderers``: how each family looks (a registry; a generic grid renderer for others).
* ``viz.trace``: pure frame data (``frame_states``, ``frame_steps``, ``row_trace``).
* ``viz.board``: one board on a matplotlib ``Axes``.
* ``viz.animate``: ``AnimationFigure`` and ``write_animation`` (GIF always, MP4 with ffmpeg).
* ``viz.plots``: ``order_figure``, ``bench_figure``, ``training_figure``, ``save_figure``.
* ``viz.html``: ``view_html`` / ``report_html``, one self-contained HTML page (``viz/static/view.js``
  and ``view.css`` inlined) replaying solve/search traces and bench results; payload schema in
  ``docs/view-format.md``.
* ``viz.browser``: headless Chromium (playwright) for page screenshots and the browser tests.
* ``viz.cli``: ``unmask animate`` and ``unmask plot order|bench|training``.
"""
