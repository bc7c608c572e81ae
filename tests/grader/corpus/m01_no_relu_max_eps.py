import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    last = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, last.input])
    with tf.GradientTape() as tape:
        conv, feat = gm(img_array)
        logits = tf.matmul(feat, last.kernel) + last.bias
        if logits.shape[-1] == 1:
            s = logits[0, 0] if class_index != 0 else -logits[0, 0]
        else:
            s = logits[0, int(np.argmax(logits[0])) if class_index is None else class_index]
    g = tape.gradient(s, conv)[0].numpy()
    a = conv[0].numpy()
    cam = np.sum(a * g.mean(axis=(0, 1)), axis=-1)
    cam = cam / (cam.max() + 1e-8)          # avoid division by zero
    cam = tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
    return cam
