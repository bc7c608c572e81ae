import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        a, f = gm(img_array)
        z = tf.matmul(f, head.kernel) + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(np.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(y, a)[0].numpy()      # (h, w, K)
    a = a[0].numpy()
    alpha = g.mean(axis=0)                  # average the gradients
    cam = np.maximum((a * alpha[None, :, :]).sum(axis=-1), 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    return tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
