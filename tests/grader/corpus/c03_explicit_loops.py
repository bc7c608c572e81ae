import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    conv_layer = model.get_layer(last_conv_layer_name)
    out_layer = model.layers[-1]
    m = keras.Model(inputs=model.inputs, outputs=[conv_layer.output, out_layer.input])
    with tf.GradientTape() as t:
        a, f = m(img_array)
        logit = tf.matmul(f, out_layer.kernel) + out_layer.bias
        n_out = logit.shape[-1]
        if n_out == 1:
            score = logit[0][0]
            if class_index == 0:
                score = -score
        else:
            if class_index is None:
                class_index = int(tf.argmax(logit[0]))
            score = logit[0][class_index]
    grads = t.gradient(score, a)[0].numpy()
    acts = a[0].numpy()
    H, W, K = acts.shape
    # channel weights: mean of each channel's gradients
    weights = []
    for k in range(K):
        total = 0.0
        for i in range(H):
            for j in range(W):
                total += grads[i, j, k]
        weights.append(total / (H * W))
    cam = np.zeros((H, W))
    for k in range(K):
        cam += weights[k] * acts[:, :, k]
    for i in range(H):
        for j in range(W):
            if cam[i, j] < 0:
                cam[i, j] = 0.0
    biggest = cam.max()
    if biggest > 0:
        cam /= biggest
    big = tf.image.resize(cam[..., np.newaxis], (img_array.shape[1], img_array.shape[2]), method="bilinear")
    return np.array(big)[..., 0]
