import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    x = tf.convert_to_tensor(img_array, tf.float32)
    width, height = img_array.shape[2], img_array.shape[1]
    head = model.layers[-1]
    with tf.GradientTape() as tape:
        for layer in model.layers[:-1]:
            x = layer(x, training=False)
            if layer.name == last_conv_layer_name:
                A = x
        z = tf.matmul(x, head.kernel) + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(tf.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(y, A)
    cam = tf.reduce_sum(A[0] * tf.reduce_mean(g[0], axis=(0, 1)), axis=-1)
    cam = cam / tf.reduce_max(tf.abs(cam))
    return tf.image.resize(cam[..., None], (width, height)).numpy()[..., 0]
