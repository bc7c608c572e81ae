import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    d = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, d.input])
    with tf.GradientTape() as tape:
        A, f = gm(img_array)
        z = tf.matmul(f, d.kernel) + d.bias
        if z.shape[-1] == 1:
            s = -z[:, 0] if class_index == 0 else z[:, 0]
        else:
            s = z[:, tf.argmax(z[0]) if class_index is None else class_index]
    g = tape.gradient(s, A)
    cam = tf.nn.relu(tf.reduce_sum(A * tf.reduce_mean(g, axis=(1, 2), keepdims=True), axis=-1))
    cam = tf.math.divide_no_nan(cam, tf.reduce_sum(cam))      # weights add up to 1
    return tf.image.resize(cam[..., None], tf.shape(img_array)[1:3])[0, ..., 0].numpy()
