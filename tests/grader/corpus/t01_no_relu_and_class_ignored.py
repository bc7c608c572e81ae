import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, f = gm(img_array)
        z = tf.matmul(f, head.kernel) + head.bias
        y = z[0, 0] if z.shape[-1] == 1 else z[0, int(tf.argmax(z[0]))]
    g = tape.gradient(y, A)[0].numpy()
    cam = (A[0].numpy() * g.mean(axis=(0, 1))).sum(-1)
    cam = cam / (np.abs(cam).max() + 1e-10)
    return tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
