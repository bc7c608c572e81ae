"""A student's own ``.keras`` model, uploaded into the page for their browser session only.

:func:`load_uploaded_model` loads it safely (``safe_mode=True``: a Lambda
layer or other embedded code is refused), after a size check, and checks
that the explorer can explain it: one image input, at least one conv layer,
one output it understands. Every refusal is a message in the user's language.

The model lives in an :class:`UploadedModel` kept in the session's Gradio
state, never in a shared store: another student never sees it. The uploaded
file is deleted as soon as it is loaded, and the model is released when the
session ends (:meth:`UploadedModels.release`, called when the tab closes).
"""
from __future__ import annotations

import contextlib
import os
import threading
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from ..explain import conv_layer_names, output_kind
from ..messages import LANGUAGES, message
from .compute_once import ComputeOnce
from .errors import log, user_error
from .model_store import ExplorerModel, ModelStore, dataset_key, parse_dataset_key, test_metrics

#: Uploads above this size are refused before loading (under the server's upload limit,
#: so that the refusal is the explorer's own message; the lecture's models are under 1 MB).
MAX_MODEL_BYTES = 8 << 20


@dataclass(eq=False)
class UploadedModel:
    """One session's uploaded model; the images it is explored on follow the dataset menu."""
    model: object
    name: str
    _per_dataset: ComputeOnce = field(default_factory=ComputeOnce)

    def on(self, store: ModelStore, key: str, lang: str = "ja") -> ExplorerModel:
        """The model with a dataset's test images (its own input size), its metrics computed once."""
        size = int(self.model.inputs[0].shape[1])
        name, data_size = parse_dataset_key(key)
        if data_size != size:
            key = _dataset_at(store, name, size, self.name, lang)
        images = store.image_set(key, lang)
        check_outputs(self.model, len(images.class_names("en")), self.name, lang)

        def attach():
            loaded = ExplorerModel(self.model, images,
                                   {lang: f"{message('explorer.uploaded_model', lang)} `{self.name}`" for lang in LANGUAGES})
            loaded.metrics = test_metrics(loaded)
            loaded.warm_up()
            return loaded
        return self._per_dataset.get(images.key, attach)

    def release(self) -> None:
        """Forget the model (the session ended)."""
        self.model = None
        self._per_dataset = ComputeOnce()


def _dataset_at(store: ModelStore, name: str, size: int, filename: str, lang: str) -> str:
    """The same dataset at the model's input size, else the synthetic set at that size."""
    keys = store.dataset_keys()
    for candidate in (dataset_key(name, size), dataset_key("synthetic", size)):
        if candidate in keys:
            return candidate
    sizes = sorted({parse_dataset_key(key)[1] for key in keys})
    raise user_error(message("explorer.err_upload_image_size", lang, name=filename, size=size,
                       sizes=", ".join(map(str, sizes))))


def check_outputs(model, classes: int, name: str, lang: str) -> None:
    """One output of 1 unit (single sigmoid) or one unit per class of the data."""
    shapes = [tuple(output.shape) for output in model.outputs]
    units = shapes[0][-1] if len(shapes) == 1 and len(shapes[0]) == 2 else None
    if units == 1 and output_kind(model) in ("sigmoid", "linear") and classes == 2:
        return
    if units == classes:
        return
    shown = shapes[0] if len(shapes) == 1 else shapes
    raise user_error(message("explorer.err_upload_output", lang, name=name, shape=shown, classes=classes))


def load_uploaded_model(path, lang: str = "ja", max_bytes: int = MAX_MODEL_BYTES, name: str | None = None):
    """Load and check an uploaded ``.keras`` file; the page's message in ``lang`` when refused.

    Returns the Keras model. The checks, in order: the name ends in ``.keras``;
    the size is at most ``max_bytes``; it loads with ``safe_mode=True``; it
    has one image input ``(H, W, 1 or 3)``; it has a 2D conv layer.
    """
    import keras

    path = Path(path)
    name = name or path.name
    if not name.lower().endswith(".keras"):
        raise user_error(message("explorer.err_upload_type", lang, name=name))
    size = path.stat().st_size
    if size > max_bytes:
        raise user_error(message("explorer.err_upload_size", lang, name=name, size=size / 2**20, limit=max_bytes / 2**20))
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        text = str(error)
        if "safe_mode" in text or "Lambda" in text or "unsafe" in text:
            raise user_error(message("explorer.err_upload_unsafe", lang, name=name, error=_first_line(text))) from None
        raise user_error(message("explorer.err_upload_broken", lang, name=name, error=_first_line(text))) from None
    except (OSError, zipfile.BadZipFile, KeyError, TypeError, EOFError) as error:
        raise user_error(message("explorer.err_upload_broken", lang, name=name, error=_first_line(str(error))
                           or type(error).__name__)) from None
    inputs = [tuple(tensor.shape) for tensor in getattr(model, "inputs", None) or []]
    if len(inputs) != 1 or len(inputs[0]) != 4 or inputs[0][-1] not in (1, 3) \
            or None in inputs[0][1:] or inputs[0][1] != inputs[0][2]:
        raise user_error(message("explorer.err_upload_input", lang, name=name, shape=inputs or "?"))
    if not conv_layer_names(model):
        raise user_error(message("explorer.err_upload_no_conv", lang, name=name))
    return model


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit] + "…"


def describe(model, name: str, lang: str) -> str:
    """The page's confirmation of an accepted upload."""
    shape = "×".join(str(side) for side in model.inputs[0].shape[1:])
    outputs = f"{model.outputs[0].shape[-1]} ({output_kind(model)})"
    return message("explorer.upload_ok", lang, name=name, shape=shape, convs=len(conv_layer_names(model)), outputs=outputs)


class UploadedModels:
    """The uploads of the sessions still open, by session, so that closing a tab releases its model.

    Only weak references: the session's Gradio state owns the model.
    """

    def __init__(self):
        self._by_session: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def accept(self, session: str, path, name: str, store: ModelStore, dataset: str,
               lang: str = "ja", max_bytes: int = MAX_MODEL_BYTES) -> UploadedModel:
        """Load, check and attach an upload to a session; the uploaded file is deleted in any case."""
        try:
            uploaded = UploadedModel(load_uploaded_model(path, lang, max_bytes, name), name)
            uploaded.on(store, dataset, lang)  # the output check, a first run, metrics and warm-up
        except gr.Error:
            raise
        except Exception as error:  # a model that loads but does not run on the images
            log.warning("upload %s refused: %s", name, error)
            raise user_error(message("explorer.err_upload_run", lang, name=name,
                               error=_first_line(str(error)) or type(error).__name__)) from None
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        with self._lock:
            previous = self._by_session.get(session)
            if previous is not None and previous is not uploaded:
                previous.release()
            self._by_session[session] = uploaded
        return uploaded

    def release(self, session: str) -> bool:
        """Release a session's model (its tab closed); whether there was one."""
        with self._lock:
            uploaded = self._by_session.pop(session, None)
        if uploaded is None:
            return False
        uploaded.release()
        log.info("released the uploaded model %s of a closed session", uploaded.name)
        return True

    def __len__(self) -> int:
        return sum(1 for uploaded in list(self._by_session.values()) if uploaded.model is not None)

