import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    dense = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, dense.input])
    with tf.GradientTape() as tape:
        fm, hid = gm(img_array)
        z = hid @ dense.kernel + dense.bias
        if z.shape[-1] == 1:
            y = -z[:, 0] if class_index == 0 else z[:, 0]
        else:
            y = z[:, tf.argmax(z[0]) if class_index is None else class_index]
    g = tape.gradient(y, fm)
    alpha = tf.reduce_max(g, axis=(1, 2))                 # strongest gradient of each channel
    cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", fm, alpha))
    cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam))
    return tf.image.resize(cam[..., None], img_array.shape[1:3])[0, ..., 0].numpy()
