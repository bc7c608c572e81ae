import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    dense = model.layers[-1]
    tap = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, dense.input])
    x = tf.convert_to_tensor(img_array, tf.float32)
    with tf.GradientTape() as tape:
        fmap, hidden = tap(x)
        z = tf.linalg.matmul(hidden, dense.kernel) + dense.bias
        if z.shape[-1] == 1:
            sign = -1.0 if class_index == 0 else 1.0
            s = sign * z[:, 0]
        else:
            c = tf.argmax(z, axis=-1)[0] if class_index is None else class_index
            s = tf.gather(z, c, axis=-1)
    dfmap = tape.gradient(s, fmap)
    cam = tf.einsum("nhwc,nc->nhw", fmap, tf.reduce_mean(dfmap, axis=(1, 2)))
    cam = tf.maximum(cam, 0.0)
    cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam))
    cam = tf.image.resize(cam[..., tf.newaxis], tf.shape(x)[1:3], method=tf.image.ResizeMethod.BILINEAR)
    return tf.squeeze(cam).numpy().reshape(x.shape[1], x.shape[2])
