import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    fc = model.layers[-1]
    x = tf.constant(img_array, tf.float32)
    with tf.GradientTape() as tape:
        for i, layer in enumerate(model.layers[:-1]):
            x = layer(x, training=False)
            if layer.name == last_conv_layer_name:
                A = x
        logits = x @ fc.kernel + fc.bias
        if logits.shape[-1] == 1:
            y = logits[0, 0] if class_index != 0 else -logits[0, 0]
        else:
            y = logits[0, np.argmax(logits[0]) if class_index is None else class_index]
    G = tape.gradient(y, A)[0].numpy()
    A = A[0].numpy()
    cam = np.maximum((A * G.mean((0, 1))).sum(-1), 0)
    cam = cam / np.max(cam)
    return tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
