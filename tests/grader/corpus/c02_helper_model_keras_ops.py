import keras
from keras import ops
import tensorflow as tf


def compute_gradcam(model, img_array, last_conv_layer_name="last_conv_layer", class_index=None):
    """Grad-CAM with a helper model; post-processing in keras.ops."""
    head = model.layers[-1]
    helper = keras.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, head.input])
    with tf.GradientTape() as tape:
        feature_maps, penultimate = helper(img_array)
        logits = ops.matmul(penultimate, head.kernel) + head.bias
        if logits.shape[-1] == 1:
            target = -logits[:, 0] if class_index == 0 else logits[:, 0]
        else:
            k = ops.argmax(logits[0]) if class_index is None else class_index
            target = ops.take(logits, k, axis=1)
    grads = tape.gradient(target, feature_maps)
    pooled = ops.mean(grads, axis=(0, 1, 2))
    heatmap = ops.sum(feature_maps[0] * pooled, axis=-1)
    heatmap = ops.relu(heatmap)
    top = ops.max(heatmap)
    heatmap = ops.where(top > 0, heatmap / ops.maximum(top, 1e-12), heatmap)
    heatmap = ops.image.resize(heatmap[None, :, :, None], (img_array.shape[1], img_array.shape[2]),
                               interpolation="bilinear")
    return ops.convert_to_numpy(heatmap[0, :, :, 0])
