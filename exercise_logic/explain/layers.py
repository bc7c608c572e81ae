"""Finding a conv layer in a Keras model and tapping its activations.

Keras 3 makes the classic recipe, ``Model(model.inputs, [conv.output,
model.output])``, fail in two common cases: a target layer inside a nested base
model ("not connected to inputs") and the softmax/sigmoid fused into the last
Dense layer (gradients of saturated probabilities vanish). A *tap* is a
callable ``images -> (activations, logits)`` that handles both without
touching the caller's model: the gradient model is built on the innermost
model that holds the layer, and the outer layers are replayed around it.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

CONV_TYPES = (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D)


def _is_container(layer) -> bool:
    return isinstance(layer, keras.Model)


def _own_layers(model) -> list:
    return [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]


def conv_layer_names(model) -> list[str]:
    """Paths of every 2D conv layer, in forward order; nested ones as ``base/conv``."""
    paths = []
    for layer in _own_layers(model):
        if _is_container(layer):
            paths += [f"{layer.name}/{inner}" for inner in conv_layer_names(layer)]
        elif isinstance(layer, CONV_TYPES):
            paths.append(layer.name)
    return paths


def resolve_layer(model, layer=None) -> str:
    """Turn ``None``, a name or a path into the path of one conv layer.

    ``None`` picks the last conv layer. A bare name is looked up at the top
    level first, then inside nested models.
    """
    candidates = conv_layer_names(model)
    if not candidates:
        raise ValueError(f"model {model.name!r} has no 2D convolution layer to explain")
    if layer is None:
        return candidates[-1]
    if not isinstance(layer, str):
        layer = layer.name
    every_layer = _all_layer_paths(model)
    if layer in every_layer:
        return layer
    nested = [path for path in every_layer if path.rsplit("/", 1)[-1] == layer]
    if len(nested) == 1:
        return nested[0]
    hint = f"conv layers of this model: {', '.join(candidates)}"
    if nested:
        raise ValueError(f"layer name {layer!r} is ambiguous ({', '.join(nested)}); give its path. {hint}")
    raise ValueError(f"no layer {layer!r} in model {model.name!r}; {hint}")


def _all_layer_paths(model, prefix="") -> list[str]:
    paths = []
    for layer in _own_layers(model):
        paths.append(prefix + layer.name)
        if _is_container(layer):
            paths += _all_layer_paths(layer, prefix + layer.name + "/")
    return paths


def output_kind(model) -> str:
    """``'sigmoid'`` (binary or multi-label), ``'softmax'`` or ``'linear'`` output."""
    head = _own_layers(model)[-1]
    activation = getattr(head, "activation", None)
    name = getattr(activation, "__name__", str(activation or ""))
    if isinstance(head, layers.Softmax) or name == "softmax":
        return "softmax"
    if name == "sigmoid":
        return "sigmoid"
    return "linear"


def _split_head(model):
    """The body's output tensor and a function mapping it to logits.

    A Dense layer with a fused sigmoid/softmax is re-applied without its
    activation (using its own weights); a standalone Activation/Softmax layer
    is skipped. The model itself is never modified.
    """
    head = _own_layers(model)[-1]
    if isinstance(head, layers.Dense) and output_kind(model) != "linear":
        def dense_logits(features):
            logits = ops.matmul(features, head.kernel)
            return logits + head.bias if head.use_bias else logits
        return head, dense_logits
    if isinstance(head, (layers.Softmax, layers.Activation)) and output_kind(model) != "linear":
        return head, lambda features: features
    return None, lambda features: features


def build_tap(model, layer_path: str, logits: bool = True):
    """A callable ``images -> (activations of layer_path, logits)``.

    With ``logits=False`` the second value is the model's own output (used for
    nested models, whose output feeds the outer layers).
    """
    name, _, rest = layer_path.partition("/")
    head, to_logits = _split_head(model) if logits else (None, lambda features: features)
    own = _own_layers(model)
    if not rest and not isinstance(model, keras.Sequential):
        # A functional graph may branch: cut it symbolically at the layer.
        body_output = head.input if head is not None else model.outputs[0]
        tap_model = keras.Model(model.inputs, [model.get_layer(name).output, body_output])

        def tap(images):
            activations, features = tap_model(images, training=False)
            return activations, to_logits(features)
        return tap

    # A chain of layers (Sequential, or a model wrapping a nested base) is
    # replayed call by call. This also avoids Sequential's symbolic tensors,
    # which belong to different graphs once a model has been saved and loaded.
    target = model.get_layer(name)
    position = own.index(target)
    before = own[:position]
    after = [layer for layer in own[position + 1:] if layer is not head]
    if rest:
        at_target = build_tap(target, rest, logits=False)
    else:
        def at_target(features):
            activations = target(features, training=False)
            return activations, activations

    def replay(images):
        features = images
        for layer in before:
            features = layer(features, training=False)
        activations, features = at_target(features)
        for layer in after:
            features = layer(features, training=False)
        return activations, features

    if not isinstance(model, keras.Sequential):
        _check_replay(model, replay, head, layer_path)

    def tap(images):
        activations, features = replay(images)
        return activations, to_logits(features)
    return tap


def _check_replay(model, replay, head, layer_path) -> None:
    """Replaying the layers in order must reproduce a functional model's output.

    It does for a chain ``input -> ... -> base -> ... -> head``; a branching
    graph around the nested model cannot be replayed.
    """
    shape = (1,) + tuple(dim or 32 for dim in model.inputs[0].shape[1:])
    probe = np.random.default_rng(0).random(shape, dtype=np.float32)
    features = replay(probe)[1]
    replayed = head(features, training=False) if head is not None else features
    expected = model(probe, training=False)
    if not np.allclose(np.asarray(replayed), np.asarray(expected), rtol=1e-4, atol=1e-5):
        raise ValueError(
            f"layer {layer_path!r} lives inside a nested model of {model.name!r}, whose layers "
            "do not form a simple chain around it; explain a top-level conv layer instead")
