import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    # 二値モデルはシグモイド確率を、多クラスはロジットを微分する
    last = model.layers[-1]
    grad_model = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, last.output, last.input])
    with tf.GradientTape() as tape:
        conv, prob, feat = grad_model(img_array)
        if prob.shape[-1] == 1:
            y = prob[0, 0] if class_index in (None, 1) else 1.0 - prob[0, 0]
        else:
            logits = feat @ last.kernel + last.bias
            idx = np.argmax(logits[0]) if class_index is None else class_index
            y = logits[0, idx]
    dy = tape.gradient(y, conv)
    alpha = tf.reduce_mean(dy, axis=[1, 2])
    cam = tf.nn.relu(tf.einsum("bhwk,bk->bhw", conv, alpha))[0]
    cam = tf.image.resize(cam[..., None], img_array.shape[1:3])[..., 0].numpy()
    m = cam.max()
    return cam / m if m > 0 else cam
