import keras
from keras import ops
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    out = model.layers[-1]
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, out.input])
    with tf.GradientTape() as tape:
        A, h = grad_model(img_array)
        logits = ops.matmul(h, out.kernel) + out.bias
        if ops.shape(logits)[-1] == 1:
            score = logits[:, 0] * (-1.0 if class_index == 0 else 1.0)
        else:
            score = logits[:, ops.argmax(logits[0]) if class_index is None else class_index]
    grads = tape.gradient(score, A)
    weights = ops.mean(grads, axis=(1, 2), keepdims=True)
    cam = ops.sum(A * weights, axis=-1)[0]
    m = ops.max(cam)
    if m > 0:
        cam = cam / m
    cam = ops.image.resize(cam[None, ..., None], img_array.shape[1:3])
    return ops.convert_to_numpy(cam)[0, ..., 0]
