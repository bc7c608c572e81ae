import keras
import numpy as np
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    """Grad-CAM heatmap of one image: an (H, W) float array in [0, 1]."""
    ### BEGIN SOLUTION
    head = model.layers[-1]  # the output Dense layer (sigmoid or softmax fused in)
    images = tf.convert_to_tensor(img_array, dtype=tf.float32)
    with tf.GradientTape() as tape:
        features = images
        for layer in model.layers[:-1]:             # run the model layer by layer
            features = layer(features, training=False)
            if layer.name == last_conv_layer_name:
                activations = features              # A: the conv layer's output
        logits = tf.matmul(features, head.kernel) + head.bias  # the score before sigmoid/softmax
        if logits.shape[-1] == 1:
            score = -logits[:, 0] if class_index == 0 else logits[:, 0]
        else:
            index = int(tf.argmax(logits[0])) if class_index is None else int(class_index)
            score = logits[:, index]
    grads = tape.gradient(score, activations)                   # (1, h, w, K)
    weights = tf.reduce_mean(grads, axis=(1, 2))                 # alpha_k: (1, K)
    cam = tf.reduce_sum(activations * weights[:, None, None, :], axis=-1)[0]  # (h, w)
    cam = tf.nn.relu(cam)
    peak = tf.reduce_max(cam)
    if peak > 0:
        cam = cam / peak
    height, width = images.shape[1], images.shape[2]
    cam = tf.image.resize(cam[..., tf.newaxis], (height, width), method="bilinear")[..., 0]
    return cam.numpy()
    ### END SOLUTION
