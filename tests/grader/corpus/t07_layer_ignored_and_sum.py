import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    conv = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)][-1]   # the last conv
    head = model.layers[-1]
    gm = keras.Model(model.inputs, [conv.output, head.input])
    with tf.GradientTape() as tape:
        A, f = gm(img_array)
        z = f @ head.kernel + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(np.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(y, A)[0].numpy()
    cam = np.maximum((A[0].numpy() * g.mean(axis=(0, 1))).sum(-1), 0)
    cam = tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
    total = cam.sum()
    return cam / total if total > 0 else cam
