"""``exercise_logic.explore``: the explorer for the student's own model and images.

In Jupyter and Google Colab the page opens inside the notebook (Gradio
displays it inline; Colab through its port proxy) and the cell returns at
once; from a plain Python script it serves http://127.0.0.1:7860 until
Ctrl-C. Gradio is imported only when this is called.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..messages import DEFAULT_LANGUAGE, LANGUAGES, bilingual, message
from . import environment


#: Set to ``off`` where no page may be served, e.g. while an autograder runs the notebook.
SWITCH = "EXERCISE_LOGIC_EXPLORE"


def explore_is_off() -> bool:
    """True when ``$EXERCISE_LOGIC_EXPLORE`` turns the explorer off (off, 0, false, no)."""
    return os.environ.get(SWITCH, "").strip().lower() in {"off", "0", "false", "no"}


def explore(model, images, labels=None, masks=None, class_names=None, lang=None, *, port: int | None = None,
            host: str = "127.0.0.1", inline: bool | None = None, block: bool | None = None):
    """Open the Grad-CAM explorer on your own model and images.

    The same page as ``python -m demo`` (its explorer, compare-methods and
    sanity-check tabs), explaining ``model`` on ``images``.

    Parameters
    ----------
    model : keras.Model
        A built image classifier with at least one 2D conv layer, e.g. the
        lecture's CNN after ``model.fit``.
    images : array of float, shape (N, H, W, C)
        Images the model takes, values in [0, 1], e.g. the lecture's
        ``x_test[:16]`` (float32, (16, 28, 28, 3)); any size the model takes.
        A split's streamed images (``load_dataset(...).test.images``) are
        read a batch at a time, so a whole 224 px test split fits.
    labels : array, shape (N,) or (N, 1) or (N, K), optional
        True classes (or multi-label rows): shown in the gallery, and the
        banner shows accuracy and ROC-AUC.
    masks : array of bool, shape (N, H, W), optional (or a split's ``masks``)
        Lesion pixels: the overlay outlines them and says whether the map's
        peak falls on them.
    class_names : list of str, or {'ja': [...], 'en': [...]}, optional
        Names of the classes; default normal/abnormal for one sigmoid unit.
    lang : {'ja', 'en'}, optional
        The page's language; default the browser's.
    port : int, optional
        The port (default: the first free one from 7860). ``host``: the listen
        address (default this computer only).
    inline : bool, optional
        Show the page inside the notebook (default: in a notebook).
    block : bool, optional
        Keep serving until Ctrl-C (default: in a plain script, not in a notebook).

    Returns
    -------
    gradio.Blocks or None
        The running app; ``.close()`` stops it. None, with a printed note,
        when ``$EXERCISE_LOGIC_EXPLORE`` is ``off`` (graders set it, so that
        grading a notebook never starts a server).
    """
    if explore_is_off():
        print("\n".join(message("explorer.explore_off", code, switch=SWITCH) for code in ([lang] if lang else LANGUAGES)),
              flush=True)
        return None
    environment.set_app_variables()  # before Gradio is imported
    try:
        import gradio  # noqa: F401
    except ImportError as error:
        raise ImportError(bilingual("explorer.needs_gradio", separator="\n")) from error
    workdir = Path(tempfile.mkdtemp(prefix="exercise-logic-explore-"))
    loaded = own_model(model, images, labels, masks, class_names, workdir)

    from .app import build_app, launch_options
    from .output_files import OutputFiles
    from .serving import serve_until_stopped, stop_signals
    from .sources import OwnModel

    in_notebook = _in_notebook()
    outputs = OutputFiles(workdir / "out")
    demo = build_app(OwnModel(loaded), outputs, lang=lang or "auto")
    options = {**launch_options(workdir, outputs.folder, host=host, port=port), "quiet": in_notebook}
    block = not in_notebook if block is None else block
    with stop_signals() if block else contextlib.nullcontext() as stop:
        demo.launch(**options, inline=in_notebook if inline is None else inline, prevent_thread_lock=True)
        if not in_notebook:
            print(message("explorer.server_started", lang or DEFAULT_LANGUAGE, url=demo.local_url), flush=True)
        if block:
            serve_until_stopped(demo, stop, lang or DEFAULT_LANGUAGE)
    return demo


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (Jupyter, Colab), where the cell must return."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and get() is not None and "ipykernel" in sys.modules


def own_model(model, images, labels=None, masks=None, class_names=None, workdir=None):
    """The student's model and images as an :class:`~.model_store.ExplorerModel`, checked.

    Bad arguments raise a ValueError that says what to pass.
    """
    from ..data.lazy_arrays import LazyRows, StreamedImages
    from ..explain import conv_layer_names
    from ..streaming import as_images
    from .model_store import MAX_OWN_SAMPLES, ExplorerModel, ImageSet, test_metrics, write_samples

    images = as_images(images)  # a split's streamed images stay streamed
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError("model must be a built Keras model (call it once or build it with an Input)")
    expected = tuple(inputs[0].shape[1:])
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must have shape (N, H, W, C) with N >= 1, got {images.shape}")
    if tuple(images.shape[1:3]) != expected[:2] and None not in expected[:2]:
        raise ValueError(f"images are {images.shape[1]}×{images.shape[2]} but the model takes "
                         f"{expected[0]}×{expected[1]}; pass images of the size the model was trained on")
    if images.shape[-1] not in (1, 3) or expected[-1] not in (1, 3):
        raise ValueError(f"images and model need 1 or 3 channels, got images {images.shape}, model {expected}")
    if not conv_layer_names(model):
        raise ValueError("the model has no 2D convolution layer for Grad-CAM to explain")
    outputs = int(model.outputs[0].shape[-1])
    names = _class_names(class_names, outputs)
    labels = _labels(labels, len(images))
    if masks is not None:
        masks = masks if isinstance(masks, LazyRows) else np.asarray(masks, bool)
        if masks.shape != images.shape[:3]:
            raise ValueError(f"masks must have shape {images.shape[:3]} (N, H, W), got {masks.shape}")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="exercise-logic-explore-"))
    indices = np.arange(min(len(images), MAX_OWN_SAMPLES))  # in the student's order
    if isinstance(images, StreamedImages):
        gray = images.grayscale
    else:
        gray = bool(np.allclose(images[..., :1], images)) if images.shape[-1] == 3 else True
    image_set = ImageSet("notebook", images, labels, masks, names,
                         {lang: f"{message('explorer.own_images', lang)} {images.shape[1]}×{images.shape[2]}"
                          for lang in LANGUAGES}, gray, indices,
                         write_samples(images, indices, workdir / "samples"))
    loaded = ExplorerModel(model, image_set, {lang: f"{message('explorer.own_model', lang)} `{model.name}`"
                                              for lang in LANGUAGES})
    loaded.metrics = test_metrics(loaded) if labels is not None and outputs in (1, len(names["en"])) \
        else None
    loaded.warm_up()
    return loaded


def _class_names(class_names, outputs: int) -> dict:
    from .model_store import default_class_names
    if class_names is None:
        return default_class_names(outputs)
    names = class_names if isinstance(class_names, dict) else {"ja": list(class_names), "en": list(class_names)}
    expected = 2 if outputs == 1 else outputs
    for lang in ("ja", "en"):
        if len(names.get(lang, ())) != expected:
            raise ValueError(f"class_names must name {expected} classes for this model "
                             f"({outputs} output unit{'s' if outputs > 1 else ''}), got {class_names!r}")
    return {lang: [str(name) for name in names[lang]] for lang in ("ja", "en")}


def _labels(labels, count: int):
    if labels is None:
        return None
    labels = np.asarray(labels, dtype=np.float32)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if len(labels) != count:
        raise ValueError(f"labels must have one entry per image ({count}), got {len(labels)}")
    return labels
