"""The CNNs students train: the lecture's simple CNN, a deeper CNN and transfer learning.

The simple and deeper CNNs name their last convolution ``last_conv_layer``, so
the lecture's Grad-CAM calls work unchanged; the transfer model's last conv
layer lives inside its MobileNetV2 base and is found by ``layer=None``.
"""
from __future__ import annotations

import keras
from keras import layers

MODEL_TYPES = ("simple", "deeper", "transfer")


def _head(num_classes: int, multi_label: bool):
    """Output layer and loss: sigmoid for binary / multi-label, softmax otherwise."""
    if multi_label or num_classes == 1:
        return layers.Dense(num_classes, activation="sigmoid", name="predictions"), "binary_crossentropy"
    return layers.Dense(num_classes, activation="softmax", name="predictions"), "sparse_categorical_crossentropy"


def _centre_pixels():
    """[0, 1] pixels -> [-1, 1], inside the model so every caller feeds the same input."""
    return layers.Rescaling(2.0, offset=-1.0, name="centre_pixels")


def _simple_cnn(input_shape):
    """The lecture's CNN: its last conv map is 11x11 for 28x28 inputs."""
    return [
        layers.Input(shape=input_shape),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu", name="last_conv_layer"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
    ]


#: The deeper CNN's conv blocks work at this side or below: larger inputs
#: first pass a strided stem (a CPU trains it in minutes even at 224 px).
WORKING_SIDE = 64
#: ... and they pool until the last conv map is at most this side.
LAST_CONV_SIDE = 16


def _stem(side: int) -> tuple[list, int]:
    """Downsampling for large inputs: a stride-2 5x5 conv, then 2x2 max-pools,
    until the side is at most :data:`WORKING_SIDE` (128 -> 64, 224 -> 112 -> 56).
    Returns the layers and the side they leave."""
    if side <= WORKING_SIDE:
        return [], side
    stem = [layers.Conv2D(16, 5, strides=2, padding="same", activation="relu", name="stem_conv")]
    side = -(-side // 2)
    while side > WORKING_SIDE:
        stem.append(layers.MaxPooling2D(2, name=f"stem_pool_{len(stem)}"))
        side //= 2
    return stem, side


def _conv_block(filters: int) -> list:
    return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2)]


def _deeper_cnn(input_shape):
    """'same'-padded conv blocks and a global-average-pool head.

    Blocks pool until the last conv map is at most :data:`LAST_CONV_SIDE`:
    14x14 for 28x28 inputs, 16x16 for 64 and 128 px, 14x14 for 224 px
    (inputs over 64 px first pass a strided stem, :func:`_stem`). A larger
    last map at 128 px (32x32, one block fewer) sees too little around each
    cell: its Grad-CAM peaked on a lesion for 0.67 of the true positives,
    against 0.99 with 16x16 (``bench/explanation_quality.py``). The GAP head
    makes every location matter, so Grad-CAM localises better.
    Pixels are centred on zero first: fed raw [0, 1] pixels, this model learns
    "dark lungs = normal" in 5 epochs and its Grad-CAM misses the lesions
    (pointing game 0.11 at 28 px); centred, it learns lesion detectors. It is
    trained with batch 32 (:data:`exercise_logic.training.BATCH_SIZES`) for
    the same reason.
    """
    stem, side = _stem(int(input_shape[0]))
    body = [layers.Input(shape=input_shape), _centre_pixels(), *stem, *_conv_block(32)]
    side //= 2
    while side > LAST_CONV_SIDE:
        body += _conv_block(64)
        side //= 2
    return body + [
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv_layer"),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
    ]


def _transfer(input_shape, weights):
    """A frozen MobileNetV2 base inside the model, as in the lecture's transfer notebook."""
    try:
        base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                              weights=weights)
    except Exception as error:  # the weights download: no network, proxy, disk...
        raise RuntimeError(
            "model_type='transfer' needs the ImageNet weights of MobileNetV2, which could not be "
            f"downloaded ({error}). Connect to the internet once (Keras caches them in "
            "~/.keras/models), or use model_type='simple' or 'deeper'. / 転移学習には "
            "ImageNet の重みのダウンロードが必要です。'simple' か 'deeper' を使ってください。") from error
    base.trainable = False
    return [
        layers.Input(shape=input_shape),
        _centre_pixels(),  # MobileNetV2's ImageNet weights expect [-1, 1] pixels
        layers.Resizing(32, 32),
        base,
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.2),
    ]


def build_model(input_shape, num_classes, model_type="simple", multi_label=False, *,
                weights="imagenet"):
    """Build and compile a CNN (the lecture's signature).

    Parameters
    ----------
    input_shape : tuple of int
        ``(H, W, C)``, e.g. ``(28, 28, 3)``.
    num_classes : int
        Output units: 1 for binary (normal / abnormal) with a sigmoid.
    model_type : {'simple', 'deeper', 'transfer'}
        The lecture CNN, a deeper GAP-headed CNN (with a strided stem above
        64 px), or a frozen MobileNetV2 base.
    multi_label : bool
        Independent sigmoid outputs (e.g. ChestMNIST's 14 findings).
    weights : str or None
        Base weights for ``'transfer'`` (``None`` builds it untrained, offline).

    Returns
    -------
    keras.Sequential
        Compiled with Adam and accuracy, as in the lecture.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes!r}")
    if model_type == "simple":
        body = _simple_cnn(input_shape)
    elif model_type == "deeper":
        body = _deeper_cnn(input_shape)
    else:
        body = _transfer(input_shape, weights)
    head, loss = _head(int(num_classes), multi_label)
    model = keras.Sequential(body + [head], name=f"{model_type}_cnn")
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model
