"""The explanation engine's public API: the method registry and the functions users call.

:func:`gradcam` explains a batch, :func:`compute_gradcam` is the lecture's
one-image function, and :func:`cam_engine` gives the compiled explainer of a
(model, layer, method), built once per model. Imports run one way:
:mod:`.base` (machinery) -> :mod:`.methods` (the methods) -> this module.
"""
from __future__ import annotations

import numpy as np

from . import methods as m
from .base import BaseCAM, Explainer, PixelAttribution
from .layers import resolve_layer

METHODS = {method.name: method for method in (
    m.GradCAM, m.GradCAMPlusPlus, m.XGradCAM, m.HiResCAM, m.LayerCAM, m.ScoreCAM,
    m.ShapleyCAM, m.FinerCAM, m.KPCACAM, m.Saliency, m.SmoothGrad, m.IntegratedGradients)}


def check_methods(methods) -> list[str]:
    """A non-empty list of known method names, or a ValueError naming the choices."""
    methods = list(methods)
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty list of {sorted(METHODS)}, got {methods!r}")
    return methods


CAM_METHODS = tuple(name for name, method in METHODS.items() if issubclass(method, BaseCAM))
PIXEL_METHODS = tuple(name for name, method in METHODS.items() if issubclass(method, PixelAttribution))
#: Methods with a counterfactual map (negated gradients): the gradient-based CAM methods.
COUNTERFACTUAL_METHODS = tuple(name for name in CAM_METHODS if METHODS[name].uses_gradients)
#: A map is "blank" when its positive evidence is below this fraction of its negative one.
BLANK_EVIDENCE = 1e-3


def cam_engine(model, layer=None, method="gradcam", counterfactual: bool = False) -> Explainer:
    """The explainer for (model, layer, method), built once and cached with the model.

    ``counterfactual=True`` negates the gradients (methods in :data:`COUNTERFACTUAL_METHODS`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if counterfactual and method not in COUNTERFACTUAL_METHODS:
        raise ValueError(f"method {method!r} has no counterfactual map; "
                         f"choose one of {list(COUNTERFACTUAL_METHODS)}")
    path = resolve_layer(model, layer)
    per_model = model.__dict__.get("_cam_engines")
    if per_model is None:
        # Stored on the model itself (bypassing Keras' attribute tracking), so
        # the engines live and die with it; a global weak map would keep it alive.
        per_model = {}
        object.__setattr__(model, "_cam_engines", per_model)
    key = (method, path, bool(counterfactual))
    if key not in per_model:
        options = {"counterfactual": True} if counterfactual else {}
        per_model[key] = METHODS[method](model, path, **options)
    return per_model[key]


def blank_maps(model, images, layer=None, target=None, method="gradcam",
               counterfactual: bool = False) -> np.ndarray:
    """Which maps are blank: all zero, or with negligible positive evidence.

    A CAM map is blank when ReLU leaves less than :data:`BLANK_EVIDENCE` of
    the largest negative value of the map before ReLU (see
    :meth:`BaseCAM.evidence`); a pixel-space map when it is all zero.
    Returns ndarray of bool, shape (N,).
    """
    engine = cam_engine(model, layer, method, counterfactual)
    if isinstance(engine, BaseCAM):
        return engine.evidence(images, target) < BLANK_EVIDENCE
    maps = engine(images, target)
    return maps.reshape(len(maps), -1).max(axis=1) <= 0


def gradcam(model, images, layer=None, target=None, method="gradcam", batch_size=None,
            counterfactual: bool = False):
    """Grad-CAM (or another method's) maps for a batch of images.

    Parameters
    ----------
    model : keras.Model
    images : array-like of float, shape (N, H, W, C) or (H, W, C)
        Or a split's streamed images (``load_dataset(...).test.images``),
        converted to float32 one batch at a time.
    layer : str, optional
        Conv layer name or path; default the last conv layer.
    target : None, int or sequence of int
        The class to explain: None = the predicted class; an index for all
        images; or one per image. For a single-sigmoid model 1 = abnormal
        (score z) and 0 = normal (score -z). For multi-label, the label index.
    method : str
        A key of :data:`exercise_logic.explain.METHODS` (default ``'gradcam'``).
    counterfactual : bool
        The counterfactual map (Selvaraju et al., 2017): negated gradients, i.e.
        the regions whose increase would lower the target's score. For the
        methods in :data:`COUNTERFACTUAL_METHODS`.

    Returns
    -------
    ndarray of float32, shape (N, H, W)
        For Grad-CAM: ReLU(sum_k alpha_k A_k) divided by its max (all-zero maps
        stay zero), upsampled bilinearly to the input size; values in [0, 1].
    """
    return cam_engine(model, layer, method, counterfactual)(images, target, batch_size)


def lecture_layer_and_target(model, last_conv_layer_name="last_conv_layer", class_index=None):
    """Map the lecture's arguments onto :func:`gradcam`'s ``layer`` and ``target``.

    A single-sigmoid model explains "abnormal" when ``class_index`` is None, as
    the lecture's code did. A model without a layer called ``last_conv_layer``
    (e.g. transfer learning) falls back to its last conv layer.
    """
    if class_index is None and int(model.outputs[0].shape[-1]) == 1:
        class_index = 1
    try:
        layer = resolve_layer(model, last_conv_layer_name)
    except ValueError:
        if last_conv_layer_name != "last_conv_layer":
            raise
        layer = None
    return layer, class_index


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    """The lecture's Grad-CAM: one image in, one (H, W) map in [0, 1] out.

    ``img_array`` has shape (1, H, W, C) (or (H, W, C)). For the lecture's
    single-sigmoid model ``class_index=0`` explains "normal" and 1 or None
    explains "abnormal"; otherwise None explains the predicted class.
    A thin wrapper over :func:`gradcam`.
    """
    layer, target = lecture_layer_and_target(model, last_conv_layer_name, class_index)
    return gradcam(model, img_array, layer=layer, target=target)[0]
