"""Independent reference pieces shared by the engine and method tests."""
import keras
import numpy as np
from keras import layers


def flat_tap(model, conv_name):
    """Call a flat model's layers one by one on a new input (the lecture's approach)."""
    def run(x):
        conv = None
        for layer in model.layers[:-1]:
            x = layer(x, training=False)
            if layer.name == conv_name:
                conv = x
        return conv, x
    return run


def hand_built_model():
    """x (4x4x1) -> 1x1 conv giving two channels equal to x -> Dense(1, sigmoid).

    The Dense weights are +1 on channel 0 and -0.5 on channel 1 at every
    position, so the gradients are alpha = (1, -0.5) and the Grad-CAM of
    "abnormal" is ReLU(x - 0.5 x) = 0.5 x, i.e. x / max(x) after normalising.
    For "normal" (score -z) it is ReLU(-0.5 x) = 0 everywhere.
    """
    model = keras.Sequential([layers.Input((4, 4, 1)),
                              layers.Conv2D(2, 1, use_bias=False, name="conv"),
                              layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    model.layers[0].set_weights([np.ones((1, 1, 1, 2), np.float32)])
    dense = np.tile(np.array([[1.0], [-0.5]], np.float32), (16, 1))
    model.layers[2].set_weights([dense, np.zeros(1, np.float32)])
    return model


ONE_PIXEL_WEIGHT, ONE_PIXEL_BIAS = 6.0, -2.0


def one_pixel_model():
    """p(abnormal) = sigmoid(6 * pixel(0, 0) - 2) on 4x4x1 images: only the top-left pixel matters."""
    model = keras.Sequential([keras.Input((4, 4, 1)), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    kernel = np.zeros((16, 1), np.float32)
    kernel[0, 0] = ONE_PIXEL_WEIGHT
    model.layers[-1].set_weights([kernel, np.array([ONE_PIXEL_BIAS], np.float32)])
    return model
