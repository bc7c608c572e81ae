"""Where did the model look? Class activation maps and attributions for Keras models."""
from .cam import (BaseCAM, Explainer, cam_engine, compute_gradcam, gradcam,
                     lecture_layer_and_target)
from .layers import conv_layer_names, output_kind, resolve_layer
from .methods import CAM_METHODS, METHODS, PIXEL_METHODS, GradCAM, PixelAttribution

__all__ = ["BaseCAM", "Explainer", "GradCAM", "PixelAttribution", "METHODS", "CAM_METHODS",
           "PIXEL_METHODS", "cam_engine", "compute_gradcam", "gradcam", "lecture_layer_and_target",
           "conv_layer_names", "output_kind", "resolve_layer"]
