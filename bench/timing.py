"""What the speed benchmarks share: best-of-N timing and the hardware floor of Grad-CAM."""
from __future__ import annotations

import time

import tensorflow as tf


def best_of(repeats, function) -> float:
    """The fastest of ``repeats`` runs of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_backward_floor(model, images, batch_size, layer_name="last_conv_layer"):
    """A callable running the work no Grad-CAM can avoid over ``images``.

    That is a compiled forward pass of ``model`` (a flat Sequential) and the
    backward pass from its output down to the conv layer ``layer_name``.
    """
    signature = [tf.TensorSpec((None,) + tuple(images.shape[1:]), tf.float32)]

    @tf.function(input_signature=signature)
    def forward_backward(batch):
        with tf.GradientTape() as tape:
            features, conv_output = batch, None
            for layer in model.layers:
                features = layer(features, training=False)
                if layer.name == layer_name:
                    conv_output = features
                    tape.watch(conv_output)
        return tape.gradient(features, conv_output)

    def floor():
        for start in range(0, len(images), batch_size):
            forward_backward(images[start:start + batch_size]).numpy()
    return floor
