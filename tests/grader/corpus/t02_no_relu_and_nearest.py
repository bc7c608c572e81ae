import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    out = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, out.input])
    with tf.GradientTape() as tape:
        A, f = gm(img_array)
        z = f @ out.kernel + out.bias
        if z.shape[-1] == 1:
            y = -z[:, 0] if class_index == 0 else z[:, 0]
        else:
            y = z[:, tf.argmax(z[0]) if class_index is None else class_index]
    g = tape.gradient(y, A)
    cam = tf.reduce_sum(A * tf.reduce_mean(g, axis=(1, 2), keepdims=True), axis=-1, keepdims=True)
    cam = tf.image.resize(cam, img_array.shape[1:3], method="nearest")[0, ..., 0]
    m = tf.reduce_max(cam)
    return (cam / m).numpy() if m > 0 else cam.numpy()
