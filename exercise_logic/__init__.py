"""exercise_logic: the shared library of the explainable-medical-AI teaching kit.

The lecture's helper names are kept unchanged (``initialize_environment``,
``load_and_preprocess``, ``build_model``, ``compute_gradcam``,
``show_gradcam``, ``show_gradcam_comparison``); the rest is the kit's own API.
Data flows one way: data -> models/training -> explain -> rendering.
"""
from .environment import import_tensorflow, initialize_environment

import_tensorflow()  # quiet, and a clear message when TensorFlow is missing

from .data.datasets import (Dataset, Split, available_datasets, dataset_names,  # noqa: E402
                            load_and_preprocess, load_dataset, write_synthetic_npz)
from .data.medmnist_files import ChecksumWarning, DatasetUnavailableError  # noqa: E402
from .data.npz_format import CorruptDatasetError  # noqa: E402
from .evaluation import evaluate, predict_proba, roc_auc  # noqa: E402
from .explain import (CAM_METHODS, METHODS, PIXEL_METHODS, cam_engine, compute_gradcam,  # noqa: E402
                      conv_layer_names, gradcam)
from .explain import (deletion_insertion, energy_in_mask, method_scorecard, peak_in_region,  # noqa: E402
                      plot_deletion_insertion, pointing_game, sanity_check)
from .models import MODEL_TYPES, build_model  # noqa: E402
from .rendering import (COLORMAPS, explanation_panel, heatmap_to_rgb, overlay,  # noqa: E402
                        show_gradcam, show_gradcam_comparison)
from .training import TrainedModel, train_or_load  # noqa: E402
from .shortcut_lab import ShortcutLabResult, plot_shortcut_lab, run_shortcut_lab  # noqa: E402
from .self_check import SelfCheckResult, self_check  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "initialize_environment", "load_and_preprocess", "build_model", "compute_gradcam",
    "show_gradcam", "show_gradcam_comparison",
    "Dataset", "Split", "available_datasets", "dataset_names", "load_dataset",
    "write_synthetic_npz", "ChecksumWarning", "DatasetUnavailableError", "CorruptDatasetError",
    "evaluate", "predict_proba", "roc_auc", "METHODS", "CAM_METHODS", "PIXEL_METHODS", "cam_engine", "conv_layer_names",
    "gradcam", "MODEL_TYPES", "COLORMAPS", "explanation_panel", "heatmap_to_rgb", "overlay",
    "TrainedModel", "train_or_load",
    "pointing_game", "energy_in_mask", "peak_in_region", "deletion_insertion", "plot_deletion_insertion",
    "sanity_check", "method_scorecard", "ShortcutLabResult", "run_shortcut_lab", "plot_shortcut_lab",
    "self_check", "SelfCheckResult", "explore",
]


def __getattr__(name):
    # The explorer needs Gradio (the ``demo`` extra): imported on first use only.
    if name == "explore":
        from .explorer import explore
        return explore
    raise AttributeError(f"module 'exercise_logic' has no attribute {name!r}")
