import numpy as np
import tensorflow as tf
import keras


def upsample(small, out_h, out_w):
    """bilinear, pixel centres aligned like tf.image.resize"""
    h, w = small.shape
    big = np.zeros((out_h, out_w))
    for r in range(out_h):
        y = min(max((r + 0.5) * h / out_h - 0.5, 0), h - 1)
        y0 = int(np.floor(y)); y1 = min(y0 + 1, h - 1); dy = y - y0
        for c in range(out_w):
            x = min(max((c + 0.5) * w / out_w - 0.5, 0), w - 1)
            x0 = int(np.floor(x)); x1 = min(x0 + 1, w - 1); dx = x - x0
            big[r, c] = ((1 - dy) * ((1 - dx) * small[y0, x0] + dx * small[y0, x1])
                         + dy * ((1 - dx) * small[y1, x0] + dx * small[y1, x1]))
    return big


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    head = model.layers[-1]
    sub = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        A, feats = sub(tf.constant(img_array))
        logits = feats @ head.kernel + head.bias
        if logits.shape[1] == 1:
            target = logits[0, 0] * (-1 if class_index == 0 else 1)
        else:
            target = logits[0, int(tf.argmax(logits[0])) if class_index is None else class_index]
    G = tape.gradient(target, A)[0].numpy().astype(np.float64)
    A = A[0].numpy().astype(np.float64)
    cam = np.tensordot(A, G.mean(axis=(0, 1)), axes=1)
    cam[cam < 0] = 0
    if cam.max() > 0:
        cam = cam / cam.max()
    return upsample(cam, img_array.shape[1], img_array.shape[2])
