import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    names = [l.name for l in model.layers]
    cut = names.index(last_conv_layer_name)
    x = tf.convert_to_tensor(img_array, tf.float32)
    for layer in model.layers[:cut + 1]:          # up to the conv layer
        x = layer(x)
    conv = x
    with tf.GradientTape() as tape:
        tape.watch(conv)
        y = conv
        for layer in model.layers[cut + 1:-1]:     # the rest, without the output activation
            y = layer(y, training=False)
        out = model.layers[-1]
        logits = tf.matmul(y, out.kernel) + out.bias
        if logits.shape[-1] > 1:
            target = logits[0, class_index if class_index is not None else int(tf.argmax(logits[0]))]
        elif class_index == 0:
            target = -logits[0, 0]
        else:
            target = logits[0, 0]
    grads = tape.gradient(target, conv)
    w = tf.reduce_mean(grads, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(conv[0] * w, axis=-1)).numpy()
    if np.max(cam) > 0:
        cam = cam / np.max(cam)
    return tf.image.resize(cam[..., None], (img_array.shape[1], img_array.shape[2])).numpy().squeeze(-1)
