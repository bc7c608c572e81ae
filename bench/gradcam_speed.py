"""Grad-CAM throughput for the lecture CNN, three ways, in one run.

(a) the lecture's way: the gradient model rebuilt for every call, one image at a time;
(b) the kit's batched engine (one compiled tape over the batch);
(c) the floor: a compiled forward pass of the same model and the backward pass from its
    output to the last conv layer, over the same images (what Grad-CAM cannot avoid).

    python bench/gradcam_speed.py [--images 1000] [--repeats 10]
"""
from __future__ import annotations

import argparse
import os


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import exercise_logic as el  # noqa: E402
from timing import best_of, forward_backward_floor  # noqa: E402


def lecture_gradcam(model, img_array, last_conv_layer_name="last_conv_layer"):
    """The lecture helper's algorithm: a new gradient model per call, one image."""
    inputs = tf.keras.Input(shape=img_array.shape[1:])
    x, conv_output = inputs, None
    for layer in model.layers:
        x = layer(x)
        if layer.name == last_conv_layer_name:
            conv_output = x
    grad_model = tf.keras.Model(inputs=inputs, outputs=[conv_output, x])
    with tf.GradientTape() as tape:
        conv_out, preds = grad_model(img_array)
        class_channel = preds[:, 0]
    grads = tape.gradient(class_channel, conv_out)
    pooled = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = tf.squeeze(conv_out[0] @ pooled[..., tf.newaxis])
    heatmap = tf.maximum(heatmap, 0) / (tf.math.reduce_max(heatmap) + 1e-8)
    return tf.squeeze(tf.image.resize(heatmap[..., tf.newaxis], img_array.shape[1:3])).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(0)
    model = el.build_model((28, 28, 3), 1)
    images = np.random.default_rng(0).random((args.images, 28, 28, 3), dtype=np.float32)
    # The floor: the work Grad-CAM cannot avoid, a forward pass of the model and a
    # backward pass from its output down to the last conv layer, compiled.
    floor = forward_backward_floor(model, images, args.batch_size)

    def engine():
        el.gradcam(model, images, batch_size=args.batch_size)

    def lecture():
        for image in images:
            lecture_gradcam(model, image[np.newaxis])

    floor(), engine(), lecture_gradcam(model, images[:1])  # warm up: trace and compile once
    time_a = best_of(1, lecture)
    time_b = best_of(args.repeats, engine)
    time_c = best_of(args.repeats, floor)
    print(f"Grad-CAM of the lecture CNN on {args.images} images of 28x28x3, "
          f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores")
    for label, seconds in (("(a) lecture, grad model rebuilt per image", time_a),
                           ("(b) batched engine", time_b),
                           ("(c) floor: compiled forward+backward", time_c)):
        print(f"  {label:<44} {seconds:8.3f} s  {args.images / seconds:10.0f} images/s")
    print(f"  speed-up b/a: {time_a / time_b:.0f}x   (target >= 100x)")
    print(f"  time b/c:     {time_b / time_c:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main()
