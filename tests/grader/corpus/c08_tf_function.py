import tensorflow as tf
import keras


@tf.function(reduce_retracing=True)
def _cam(grad_model, kernel, bias, x, sign, index, binary):
    with tf.GradientTape() as tape:
        a, f = grad_model(x)
        logits = tf.matmul(f, kernel) + bias
        score = sign * logits[:, 0] if binary else logits[:, index]
    g = tape.gradient(score, a)
    cam = tf.nn.relu(tf.reduce_sum(a * tf.reduce_mean(g, axis=[1, 2], keepdims=True), axis=-1))
    return cam[0]


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    x = tf.convert_to_tensor(img_array, tf.float32)
    binary = head.units == 1
    if binary:
        index = 0
    elif class_index is None:
        index = int(tf.argmax(head(gm(x)[1])[0]))
    else:
        index = int(class_index)
    sign = -1.0 if (binary and class_index == 0) else 1.0
    cam = _cam(gm, head.kernel, head.bias, x, tf.constant(sign), index, binary)
    peak = tf.reduce_max(cam)
    cam = cam / peak if peak > 0 else cam
    return tf.image.resize(cam[..., None], x.shape[1:3])[..., 0].numpy()
