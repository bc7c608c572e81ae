import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    tap = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, f = tap(img_array)
        logits = tf.matmul(f, head.kernel) + head.bias
        if logits.shape[-1] == 1:
            score = logits[0, 0]          # the abnormal score
        else:
            if class_index is None:
                class_index = int(tf.argmax(logits[0]))
            score = logits[0, class_index]
    g = tape.gradient(score, A)
    w = tf.reduce_mean(g, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(A * w[:, None, None, :], axis=-1))[0].numpy()
    if cam.max() > 0:
        cam /= cam.max()
    return tf.image.resize(cam[..., None], img_array.shape[1:3])[..., 0].numpy()
