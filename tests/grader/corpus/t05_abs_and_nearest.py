import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    gm = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, f = gm(img_array)
        z = f @ head.kernel + head.bias
        if z.shape[-1] == 1:
            y = -z[0, 0] if class_index == 0 else z[0, 0]
        else:
            y = z[0, int(np.argmax(z[0])) if class_index is None else class_index]
    g = tape.gradient(y, A)[0].numpy()
    cam = np.abs(np.tensordot(A[0].numpy(), g.mean(axis=(0, 1)), axes=1))
    cam = cam / cam.max() if cam.max() > 0 else cam
    H, W = img_array.shape[1:3]
    rows = (np.arange(H) * cam.shape[0] // H)
    cols = (np.arange(W) * cam.shape[1] // W)
    return cam[rows][:, cols]               # repeat pixels to the input size
