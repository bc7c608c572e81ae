import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    x = tf.convert_to_tensor(img_array, tf.float32)
    out = model.layers[-1]
    with tf.GradientTape() as tape:
        for layer in model.layers[:-1]:
            x = layer(x, training=False)
            if layer.name == last_conv_layer_name:
                acts = x
        logits = tf.matmul(x, out.kernel) + out.bias
        if logits.shape[-1] == 1:
            score = -logits[0, 0] if class_index == 0 else logits[0, 0]
        else:
            score = logits[0, tf.argmax(logits[0]) if class_index is None else class_index]
    grads = tape.gradient(score, acts)
    cam = np.sum((grads * acts)[0].numpy(), axis=-1)      # gradient x activation
    cam = np.maximum(cam, 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    return tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
