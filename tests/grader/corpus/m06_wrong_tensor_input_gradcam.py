import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    x = tf.Variable(img_array, dtype=tf.float32)
    head = model.layers[-1]
    with tf.GradientTape() as tape:
        h = x
        for layer in model.layers[:-1]:
            h = layer(h, training=False)
        logits = tf.matmul(h, head.kernel) + head.bias
        if logits.shape[-1] == 1:
            score = -logits[0, 0] if class_index == 0 else logits[0, 0]
        else:
            score = logits[0, tf.argmax(logits[0]) if class_index is None else class_index]
    grads = tape.gradient(score, x)                      # d score / d input
    weights = tf.reduce_mean(grads, axis=(1, 2))         # one weight per colour channel
    cam = tf.reduce_sum(x * weights[:, None, None, :], axis=-1)[0]
    cam = tf.nn.relu(cam).numpy()
    if cam.max() > 0:
        cam = cam / cam.max()
    return cam
