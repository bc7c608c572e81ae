import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    # run the layers one by one so that the conv output can be kept
    x = tf.constant(img_array, dtype=tf.float32)
    dense = model.layers[-1]
    with tf.GradientTape() as tape:
        h = x
        conv_out = None
        for lyr in model.layers[:-1]:
            h = lyr(h, training=False)
            if lyr.name == last_conv_layer_name:
                conv_out = h
        z = tf.matmul(h, dense.kernel) + dense.bias
        if z.shape[1] == 1:
            y = z[0, 0] if class_index != 0 else -z[0, 0]
        else:
            c = int(np.argmax(z[0].numpy())) if class_index is None else class_index
            y = z[0, c]
    g = tape.gradient(y, conv_out).numpy()[0]
    A = conv_out.numpy()[0]
    w = g.mean(axis=(0, 1))
    cam = np.maximum((A * w).sum(axis=2), 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    out = tf.image.resize(cam[:, :, None], img_array.shape[1:3]).numpy()[:, :, 0]
    return out
