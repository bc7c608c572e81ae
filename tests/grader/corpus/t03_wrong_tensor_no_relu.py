import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    img = tf.convert_to_tensor(img_array, tf.float32)
    head = model.layers[-1]
    with tf.GradientTape() as tape:
        tape.watch(img)
        h = img
        for layer in model.layers[:-1]:
            h = layer(h, training=False)
        z = tf.matmul(h, head.kernel) + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(tf.argmax(z[0])) if class_index is None else class_index]
    grads = tape.gradient(y, img)[0].numpy()
    cam = grads.mean(axis=-1)
    return cam / cam.max()
