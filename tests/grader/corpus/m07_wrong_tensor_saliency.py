import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    image = tf.convert_to_tensor(img_array, tf.float32)
    dense = model.layers[-1]
    with tf.GradientTape() as tape:
        tape.watch(image)
        v = image
        for lay in model.layers[:-1]:
            v = lay(v, training=False)
        logit = v @ dense.kernel + dense.bias
        if logit.shape[1] == 1:
            target = logit[0, 0] if class_index in (None, 1) else -logit[0, 0]
        else:
            target = logit[0, int(tf.argmax(logit[0])) if class_index is None else class_index]
    g = tape.gradient(target, image)[0].numpy()
    heat = np.abs(g).max(axis=-1)
    return heat / heat.max() if heat.max() > 0 else heat
