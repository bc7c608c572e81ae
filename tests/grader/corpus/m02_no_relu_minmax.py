import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    x = tf.convert_to_tensor(img_array, tf.float32)
    fc = model.layers[-1]
    with tf.GradientTape() as tape:
        t = x
        for layer in model.layers[:-1]:
            t = layer(t, training=False)
            if layer.name == last_conv_layer_name:
                fmap = t
        z = t @ fc.kernel + fc.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, tf.argmax(z[0]) if class_index is None else class_index]
    grads = tape.gradient(y, fmap)
    cam = tf.reduce_sum(fmap * tf.reduce_mean(grads, axis=(1, 2))[:, None, None, :], axis=-1)[0].numpy()
    # scale to [0, 1]
    lo, hi = cam.min(), cam.max()
    cam = (cam - lo) / (hi - lo) if hi > lo else np.zeros_like(cam)
    return tf.image.resize(cam[:, :, None], (x.shape[1], x.shape[2]))[:, :, 0].numpy()
