"""Overlays: plain RGB uint8 arrays, red for strong attention and blue for weak."""
import numpy as np
import pytest

import exercise_logic as el
from exercise_logic.rendering import explanation_panel, to_uint8_rgb


def test_overlay_blends_image_and_jet_colours():
    image = np.full((28, 28, 3), 0.5, np.float32)
    heatmap = np.zeros((11, 11), np.float32)
    heatmap[5, 5] = 1.0
    result = el.overlay(image, heatmap)
    assert result.shape == (28, 28, 3) and result.dtype == np.uint8
    np.testing.assert_array_equal(el.overlay(image, heatmap, opacity=0.0), to_uint8_rgb(image))
    colours = el.overlay(image, heatmap, opacity=1.0)
    red, green, blue = colours[14, 14].astype(int)
    assert red > 100 and blue < 50  # the peak is red
    red, green, blue = colours[0, 0].astype(int)
    assert blue > 100 and red < 50  # zero attention is blue
    assert el.overlay(image[..., 0], heatmap, colormap="viridis").shape == (28, 28, 3)


def test_bad_arguments_and_panel():
    with pytest.raises(ValueError, match="opacity must be in"):
        el.overlay(np.zeros((4, 4)), np.zeros((4, 4)), opacity=2)
    with pytest.raises(ValueError, match="unknown colormap"):
        el.heatmap_to_rgb(np.zeros((4, 4)), "rainbowish")
    panel = explanation_panel(np.zeros((28, 28, 3), np.float32), np.ones((28, 28), np.float32))
    assert panel.shape == (224, 3 * 224 + 16, 3) and panel.dtype == np.uint8
