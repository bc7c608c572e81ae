import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    x = tf.convert_to_tensor(img_array, tf.float32)
    head = model.layers[-1]
    with tf.GradientTape() as tape:
        for layer in model.layers[:-1]:
            x = layer(x, training=False)
            if layer.name == last_conv_layer_name:
                conv = x
        logits = tf.matmul(x, head.kernel) + head.bias
        c = 0 if logits.shape[-1] == 1 else int(tf.argmax(logits[0]))
        y = logits[0, c]
    g = tape.gradient(y, conv)
    cam = tf.nn.relu(tf.reduce_sum(conv * tf.reduce_mean(g, axis=(1, 2))[:, None, None, :], axis=-1))
    return tf.image.resize(cam[..., None], img_array.shape[1:3])[0, ..., 0].numpy()
