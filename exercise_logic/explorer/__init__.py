"""The Grad-CAM explorer: a Gradio page on top of the library (the ``demo`` extra).

The only part of ``exercise_logic`` that imports Gradio, and only when it is
used: :func:`explore` opens the page on a student's own model and images, and
``python -m demo`` (the launcher next to the package) serves it for the kit's
models. Its modules, from the bottom up: ``environment`` (process settings
applied before Gradio is imported), model
storage (``model_store``, ``uploads``, ``sources``), ``compute_once``,
``output_files``, ``errors``, ``parsing``, the plain handlers (``handlers``,
``lab_handlers``), ``layout`` (one function per part of the page),
``events`` (the wiring), ``app`` (the page), ``serving`` (running it until
stopped) and ``notebook`` (:func:`explore`). Its texts are the ``explorer.*``
messages of :mod:`exercise_logic.messages`.
"""
from .notebook import explore

__all__ = ["explore"]
