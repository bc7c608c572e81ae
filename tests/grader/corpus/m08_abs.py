import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    m = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, f = m(img_array)
        z = tf.matmul(f, head.kernel) + head.bias
        if z.shape[-1] == 1:
            z = tf.concat([-z, z], axis=-1)   # normal, abnormal
            if class_index is None:
                class_index = 1
        elif class_index is None:
            class_index = int(tf.argmax(z[0]))
        y = z[0, class_index]
    g = tape.gradient(y, A)
    cam = np.abs(np.sum(A[0].numpy() * np.mean(g[0].numpy(), axis=(0, 1)), axis=-1))
    if cam.max() > 0:
        cam = cam / cam.max()
    return tf.image.resize(cam[..., None], img_array.shape[1:3])[..., 0].numpy()
