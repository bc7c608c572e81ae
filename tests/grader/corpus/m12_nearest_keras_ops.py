import keras
from keras import ops
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    m = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, h = m(img_array)
        z = ops.matmul(h, head.kernel) + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, ops.argmax(z[0]) if class_index is None else class_index]
    g = tape.gradient(y, A)
    cam = ops.relu(ops.sum(A * ops.mean(g, axis=(1, 2), keepdims=True), axis=-1))
    cam = ops.divide_no_nan(cam, ops.max(cam))
    cam = ops.image.resize(cam[..., None], img_array.shape[1:3], interpolation="nearest")
    return ops.convert_to_numpy(cam[0, ..., 0])
