"""The Grad-CAM explorer: a Gradio app on top of ``exercise_logic``.

Start it with ``python -m demo``. The modules read top to bottom:
``environment`` (safe process settings, applied before Gradio or TensorFlow
is imported), ``texts`` (Japanese / English UI text), ``handlers`` (plain
functions, testable without a server), ``app`` (the ``gr.Blocks`` layout) and
``__main__`` (the command line).
"""
