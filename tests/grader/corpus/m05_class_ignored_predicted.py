import numpy as np
import tensorflow as tf
import keras


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    # 予測したクラスを説明する
    conv = model.get_layer(last_conv_layer_name)
    d = model.layers[-1]
    gm = keras.Model(model.inputs, [conv.output, d.input])
    with tf.GradientTape() as tape:
        a, feats = gm(img_array)
        z = feats @ d.kernel + d.bias
        pred = int(np.argmax(z[0])) if z.shape[-1] > 1 else 0
        y = z[0, pred]
    grads = tape.gradient(y, a)[0].numpy()
    a = a[0].numpy()
    cam = np.einsum("ijk,k->ij", a, grads.mean(axis=(0, 1)))
    cam = np.clip(cam, 0, None)
    cam = cam / cam.max() if cam.max() > 0 else cam
    return tf.image.resize(cam[..., None], img_array.shape[1:3]).numpy()[..., 0]
