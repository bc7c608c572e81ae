import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    output_layer = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, output_layer.input])
    with tf.GradientTape() as tape:
        conv_out, pre = gm(img_array)
        logits = tf.matmul(pre, output_layer.kernel) + output_layer.bias
        if logits.shape[-1] == 1:
            y = -logits[0, 0] if class_index == 0 else logits[0, 0]
        else:
            y = logits[0, int(tf.argmax(logits[0])) if class_index is None else class_index]
    grads = tape.gradient(y, conv_out).numpy()[0]
    acts = conv_out.numpy()[0]
    heatmap = np.maximum(np.dot(acts, grads.mean(axis=(0, 1))), 0)
    heatmap = tf.image.resize(heatmap[..., None], img_array.shape[1:3]).numpy()[..., 0]
    return heatmap
