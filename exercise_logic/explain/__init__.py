"""Where did the model look? Class activation maps and attributions for Keras models."""
from .api import (BLANK_EVIDENCE, CAM_METHODS, COUNTERFACTUAL_METHODS, METHODS, PIXEL_METHODS,
                  blank_maps, cam_engine, check_methods, compute_gradcam, gradcam,
                  lecture_layer_and_target)
from .base import BaseCAM, Explainer, PixelAttribution
from .faithfulness import ROAD, DeletionInsertion, deletion_insertion, plot_deletion_insertion, road
from .layers import conv_layer_names, output_kind, resolve_layer
from .localisation import energy_in_mask, peak_in_region, pointing_game
from .methods import GradCAM
from .sanity import (CascadingMaps, EfficientMPRT, SanityResult, cascading_randomisation_maps, efficient_mprt,
                     sanity_check, smooth_mprt)
from .scorecard import Scorecard, method_scorecard

__all__ = ["BaseCAM", "Explainer", "GradCAM", "PixelAttribution", "METHODS", "CAM_METHODS",
           "PIXEL_METHODS", "COUNTERFACTUAL_METHODS", "BLANK_EVIDENCE", "blank_maps", "cam_engine", "check_methods", "compute_gradcam", "gradcam", "lecture_layer_and_target",
           "conv_layer_names", "output_kind", "resolve_layer",
           "pointing_game", "energy_in_mask", "peak_in_region", "DeletionInsertion", "deletion_insertion",
           "plot_deletion_insertion", "CascadingMaps", "SanityResult", "cascading_randomisation_maps",
           "sanity_check", "smooth_mprt", "efficient_mprt", "EfficientMPRT", "ROAD", "road",
           "Scorecard", "method_scorecard"]
