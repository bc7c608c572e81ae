"""Throughput of every explanation method, in one run, on the same images.

Every method of ``exercise_logic.METHODS`` explains the same 1,000 synthetic
28x28 test images with the lecture CNN, against

- the floor: a compiled forward pass and the backward pass from the output to
  the last conv layer (what a gradient CAM cannot avoid), and
- Score-CAM the naive way: one masked image per forward pass (the forward pass
  itself compiled, so only the batching differs). It is timed on a subset and
  scaled to the full set (the output says so); its maps are checked against
  the batched engine's.

    python bench/methods_speed.py [--images 1000] [--repeats 3] [--naive-images 8]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import exercise_logic as el  # noqa: E402
from timing import best_of, forward_backward_floor  # noqa: E402


def naive_scorecam(model, images, forward, conv_tap):
    """Score-CAM with one masked image per forward pass (the per-channel loop of the paper)."""
    maps = []
    for image in images:
        activations = conv_tap(image[np.newaxis])  # (1, h, w, K)
        upsampled = tf.image.resize(activations, image.shape[:2], method="bilinear")[0].numpy()
        weights = []
        for k in range(upsampled.shape[-1]):
            channel = upsampled[..., k]
            span = channel.max() - channel.min()
            mask = (channel - channel.min()) / span if span > 0 else np.zeros_like(channel)
            p = float(forward(tf.constant((image * mask[..., np.newaxis])[np.newaxis]))[0, 0])
            weights.append(p)  # abnormal class: p of the sigmoid
        raw = np.maximum(np.einsum("hwk,k->hw", activations[0].numpy(), np.asarray(weights)), 0)
        raw = raw / raw.max() if raw.max() > 0 else raw
        maps.append(tf.image.resize(raw[..., np.newaxis], image.shape[:2], method="bilinear")[..., 0].numpy())
    return np.clip(np.stack(maps), 0, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-images", type=int, default=8,
                        help="images for naive Score-CAM (timed, then scaled to --images)")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(0)
    model = el.build_model((28, 28, 3), 1)
    images = el.load_dataset("synthetic").test.images[:args.images]
    count = len(images)

    floor = forward_backward_floor(model, images, args.batch_size)

    floor()
    rows = [("floor: compiled forward + backward", best_of(args.repeats, floor))]
    for name in el.METHODS:
        engine = el.cam_engine(model, None, name)
        engine(images[:2], 1)  # trace and compile once
        slow = name in ("scorecam", "smoothgrad", "integrated_gradients")
        rows.append((name, best_of(1 if slow else args.repeats, lambda engine=engine: engine(images, 1))))

    # Naive Score-CAM: the same maths, one masked image per (compiled) forward pass.
    forward = tf.function(lambda batch: model(batch, training=False),
                          input_signature=[tf.TensorSpec((None, 28, 28, 3), tf.float32)])
    conv_model_layers = model.layers[:[layer.name for layer in model.layers].index("last_conv_layer") + 1]

    @tf.function(input_signature=[tf.TensorSpec((None, 28, 28, 3), tf.float32)])
    def conv_tap(batch):
        for layer in conv_model_layers:
            batch = layer(batch, training=False)
        return batch

    subset = images[:args.naive_images]
    naive_scorecam(model, subset[:1], forward, conv_tap)  # warm up
    start = time.perf_counter()
    naive_maps = naive_scorecam(model, subset, forward, conv_tap)
    naive_seconds = (time.perf_counter() - start) * count / len(subset)
    batched_maps = el.gradcam(model, subset, target=1, method="scorecam")
    agreement = float(np.abs(naive_maps - batched_maps).max())

    print(f"Explanation methods, lecture CNN, {count} synthetic 28x28x3 images, TensorFlow {tf.__version__}, "
          f"{os.cpu_count()} CPU cores, batch {args.batch_size} (best of {args.repeats}; "
          "Score-CAM, SmoothGrad and IG timed once)")
    floor_seconds = rows[0][1]
    print("| method | seconds | images/s | x floor time |\n|---|---:|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.3f} | {count / seconds:,.0f} | {seconds / floor_seconds:.1f} |")
    scorecam_seconds = dict(rows)["scorecam"]
    print(f"| scorecam naive (1 masked image per pass; timed on {len(subset)} images, scaled to {count}) "
          f"| {naive_seconds:.1f} | {count / naive_seconds:,.1f} | {naive_seconds / floor_seconds:.0f} |")
    print(f"Score-CAM batched vs naive: {naive_seconds / scorecam_seconds:.0f}x faster (target >= 10x); "
          f"max |batched - naive| map difference {agreement:.1e}")


if __name__ == "__main__":
    main()
