"""Where did the model look? Class activation maps for Keras models."""
from .cam import METHODS, BaseCAM, GradCAM, cam_engine, compute_gradcam, gradcam
from .layers import conv_layer_names, output_kind, resolve_layer

__all__ = ["METHODS", "BaseCAM", "GradCAM", "cam_engine", "compute_gradcam", "gradcam",
           "conv_layer_names", "output_kind", "resolve_layer"]
