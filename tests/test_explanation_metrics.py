"""Localisation, faithfulness and sanity-check metrics: hand-checkable cases and one real model."""
import matplotlib.figure
import numpy as np
import pytest

import cam_reference
import exercise_logic as el
from exercise_logic.data.synthetic import marker_region
from exercise_logic.explain import localisation, sanity
from exercise_logic.explain.scorecard import COLUMNS, method_scorecard

# --- localisation ---------------------------------------------------------------------------

def one_peak(shape=(8, 8), at=(2, 3), value=1.0, background=0.1):
    heatmap = np.full(shape, background, np.float32)
    heatmap[at] = value
    return heatmap


def test_pointing_game_hit_miss_tolerance_and_empty_mask():
    maps = np.stack([one_peak(at=(2, 3))] * 4)
    masks = np.zeros((4, 8, 8), bool)
    masks[0, 2, 3] = True          # exactly on the peak
    masks[1, 2, 5] = True          # two pixels to the right
    masks[2, 7, 7] = True          # far away
    # masks[3] stays empty
    np.testing.assert_array_equal(localisation.pointing_game(maps, masks, tolerance=0)[:3], [1, 0, 0])
    np.testing.assert_array_equal(localisation.pointing_game(maps, masks, tolerance=1)[:3], [1, 0, 0])
    np.testing.assert_array_equal(localisation.pointing_game(maps, masks, tolerance=2)[:3], [1, 1, 0])
    # The default scales Zhang et al.'s 15 px at 224 px: 1 px on 8x8 maps, 2 px at 28x28.
    np.testing.assert_array_equal(localisation.pointing_game(maps, masks)[:3], [1, 0, 0])
    assert [localisation.standard_tolerance(side) for side in (8, 28, 64, 224)] == [1, 2, 4, 15]
    wide_maps = np.stack([one_peak(shape=(28, 28), at=(10, 10))] * 2)
    wide_masks = np.zeros((2, 28, 28), bool)
    wide_masks[0, 12, 12] = True   # 2 px away on both axes: a hit
    wide_masks[1, 10, 13] = True   # 3 px away: a miss
    np.testing.assert_array_equal(localisation.pointing_game(wide_maps, wide_masks), [1, 0])
    assert np.isnan(localisation.pointing_game(maps, masks)[3])


def test_pointing_game_ties_and_flat_maps():
    tied = one_peak(at=(0, 0))
    tied[5, 5] = 1.0               # a second maximal pixel, on the lesion
    mask = np.zeros((8, 8), bool)
    mask[5, 5] = True
    # argmax would pick (0, 0), the top-left corner; any maximal pixel counts here.
    assert localisation.pointing_game(tied, mask, tolerance=0).tolist() == [1.0]
    flat = np.zeros((8, 8), np.float32)
    assert localisation.pointing_game(flat, mask).tolist() == [0.0]
    assert not localisation.peak_pixels(flat).any()


def test_energy_in_mask_of_a_known_quarter():
    uniform = np.ones((1, 4, 4), np.float32)
    quarter = np.zeros((1, 4, 4), bool)
    quarter[0, :2, :2] = True
    assert localisation.energy_in_mask(uniform, quarter)[0] == pytest.approx(0.25)
    inside = np.zeros((1, 4, 4), np.float32)
    inside[0, 1, 1] = 0.7
    assert localisation.energy_in_mask(inside, quarter)[0] == pytest.approx(1.0)
    half = np.zeros((1, 4, 4), np.float32)
    half[0, 0, 0], half[0, 3, 3] = 1.0, 3.0
    assert localisation.energy_in_mask(half, quarter)[0] == pytest.approx(0.25)
    empty = np.zeros((1, 4, 4), bool)
    assert np.isnan(localisation.energy_in_mask(uniform, empty)[0])
    assert np.isnan(localisation.energy_in_mask(np.zeros((1, 4, 4)), quarter)[0])


def test_peak_in_region_with_the_marker_corner():
    region = marker_region(28)
    maps = np.stack([one_peak((28, 28), at=(2, 2)), one_peak((28, 28), at=(20, 14)),
                     np.zeros((28, 28), np.float32)])
    np.testing.assert_array_equal(localisation.peak_in_region(maps, region), [True, False, False])


def test_localisation_input_errors():
    with pytest.raises(ValueError, match="shape"):
        localisation.pointing_game(np.zeros((2, 8, 8)), np.zeros((3, 8, 8), bool))
    with pytest.raises(ValueError, match="non-negative"):
        localisation.energy_in_mask(-np.ones((1, 4, 4)), np.ones((1, 4, 4), bool))
    with pytest.raises(ValueError, match="tolerance"):
        localisation.pointing_game(np.ones((1, 4, 4)), np.ones((1, 4, 4), bool), tolerance=-1)
    with pytest.raises(ValueError, match="NaN"):
        localisation.peak_in_region(np.full((1, 4, 4), np.nan), np.ones((4, 4), bool))


# --- faithfulness ---------------------------------------------------------------------------

WEIGHT, BIAS = cam_reference.ONE_PIXEL_WEIGHT, cam_reference.ONE_PIXEL_BIAS


def sigmoid(value):
    return 1.0 / (1.0 + np.exp(-value))


def test_deletion_insertion_on_a_hand_built_model(one_pixel_model):
    images = np.ones((2, 4, 4, 1), np.float32)
    right = np.zeros((4, 4), np.float32)
    right[0, 0] = 1.0                     # the pixel that matters first
    wrong = 1.0 - right                   # the pixel that matters last
    result = el.deletion_insertion(one_pixel_model, images, np.stack([right, wrong]), steps=16, baseline=0.0)
    high, low = sigmoid(WEIGHT + BIAS), sigmoid(BIAS)
    np.testing.assert_array_equal(result.targets, [1, 1])   # predicted: abnormal
    np.testing.assert_allclose(result.fractions, np.arange(17) / 16)
    np.testing.assert_allclose(result.deletion[0], [high] + [low] * 16, rtol=1e-5)
    np.testing.assert_allclose(result.insertion[0], [low] + [high] * 16, rtol=1e-5)
    np.testing.assert_allclose(result.deletion[1], [high] * 16 + [low], rtol=1e-5)
    np.testing.assert_allclose(result.deletion_auc[0], (high + low) / 32 + low * 15 / 16, rtol=1e-5)
    np.testing.assert_allclose(result.insertion_auc[0], (high + low) / 32 + high * 15 / 16, rtol=1e-5)
    assert result.deletion_auc[0] < result.deletion_auc[1]
    assert result.insertion_auc[0] > result.insertion_auc[1]
    # The normal class follows 1 - p; small chunks give the same curves.
    normal = el.deletion_insertion(one_pixel_model, images, np.stack([right, wrong]), target=0,
                                   baseline=0.0, batch_size=1)
    np.testing.assert_allclose(normal.deletion, 1.0 - result.deletion, rtol=1e-5, atol=1e-6)


def test_blurred_baseline_of_a_flat_image_changes_nothing(one_pixel_model):
    images = np.full((1, 4, 4, 1), 0.5, np.float32)
    result = el.deletion_insertion(one_pixel_model, images, np.random.default_rng(0).random((1, 4, 4)),
                                   steps=4, blur_sigma=1.0)
    expected = sigmoid(WEIGHT * 0.5 + BIAS)             # predicted: abnormal
    np.testing.assert_allclose(result.deletion, expected, rtol=1e-5)
    np.testing.assert_allclose(result.insertion, expected, rtol=1e-5)


def test_deletion_insertion_errors_and_plot(one_pixel_model):
    images = np.ones((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="maps must have shape"):
        el.deletion_insertion(one_pixel_model, images, np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="steps"):
        el.deletion_insertion(one_pixel_model, images, np.ones((1, 4, 4)), steps=0)
    with pytest.raises(ValueError, match="target class"):
        el.deletion_insertion(one_pixel_model, images, np.ones((1, 4, 4)), target=2)
    result = el.deletion_insertion(one_pixel_model, images, np.ones((1, 4, 4)), steps=4)
    figure = el.plot_deletion_insertion({"a": result, "b": result}, index=0)
    assert isinstance(figure, matplotlib.figure.Figure) and len(figure.axes) == 2


# --- sanity checks --------------------------------------------------------------------------

def test_similarity_measures_by_hand():
    ramp = np.arange(100, dtype=np.float64).reshape(1, 10, 10) / 99
    assert sanity.spearman(ramp, ramp)[0] == pytest.approx(1.0)
    assert sanity.spearman(ramp, 1 - ramp)[0] == pytest.approx(-1.0)
    assert sanity.spearman(ramp, ramp ** 3)[0] == pytest.approx(1.0)     # ranks only
    assert np.isnan(sanity.spearman(ramp, np.zeros_like(ramp))[0])
    assert sanity.ssim(ramp, ramp)[0] == pytest.approx(1.0)
    noise = np.random.default_rng(0).random((1, 10, 10))
    assert sanity.ssim(ramp, noise)[0] < 0.3
    with pytest.raises(ValueError, match="at least 7"):
        sanity.ssim(np.zeros((1, 5, 5)), np.zeros((1, 5, 5)))


def test_cascading_randomisation_changes_gradient_maps_and_leaves_the_model_alone(random_cnn):
    images = el.load_dataset("synthetic").test.images[:6]
    before = [weight.copy() for weight in random_cnn.get_weights()]
    outputs_before = random_cnn.predict(images, verbose=0)
    engines_before = dict(random_cnn.__dict__.get("_cam_engines", {}))

    cascade = sanity.cascading_randomisation_maps(random_cnn, images, ["gradcam", "saliency"], target=1)
    assert dict(random_cnn.__dict__.get("_cam_engines", {})) == engines_before  # all work on a copy
    assert cascade.layers[:2] == ["none", "predictions"] and len(cascade.layers) == 5
    assert cascade.maps["gradcam"].shape == (5, 6, 28, 28)
    np.testing.assert_array_equal(cascade.targets, 1)
    np.testing.assert_allclose(cascade.maps["gradcam"][0], el.gradcam(random_cnn, images, target=1), atol=1e-6)
    assert np.abs(cascade.maps["saliency"][-1] - cascade.maps["saliency"][0]).max() > 0.2

    result = sanity.similarity_to_original(cascade)
    np.testing.assert_allclose(result.ssim["saliency"][0], 1.0, atol=1e-6)
    assert result.final()["saliency"][1] < 0.9
    assert {row["step"] for row in result.rows()} == set(range(5))
    assert "predictions" in result.to_markdown()

    for old, new in zip(before, random_cnn.get_weights()):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(outputs_before, random_cnn.predict(images, verbose=0))
    with pytest.raises(ValueError, match="methods"):
        sanity.sanity_check(random_cnn, images, ["nope"])


# --- a real trained model -------------------------------------------------------------------

def test_scorecard_on_a_trained_model(model_cache):
    trained = el.train_or_load("synthetic", "simple", epochs=1, progress=False)
    methods = ["gradcam", "layercam", "saliency"]
    card = method_scorecard(trained.model, trained.dataset.test, methods, max_images=48, sanity_images=8,
                            smooth_images=4, smooth_samples=3)
    assert card.n_images == 48 and card.n_sanity == 8 and card.n_smooth == 4
    for row in card.rows[:-1]:
        for key in COLUMNS:
            if key == "efficient_mprt_rise":
                assert np.isfinite(row[key]), row
            elif key.endswith("spearman"):
                assert -1 <= row[key] <= 1, (row, key)
            else:
                assert 0.0 <= row[key] <= 1.0, (row, key)
    # Saliency points at the lesions of a trained model far more often than at random.
    lesion_area = trained.dataset.test.masks[trained.dataset.test.labels == 1].mean()
    assert card.row("saliency")["pointing"] > 3 * lesion_area
    assert [row["method"] for row in card.rows] == methods + ["random"]
    assert np.isnan(card.row("random")["sanity_ssim"])
    assert card.to_markdown().count("\n") == len(methods) + 2
    with pytest.raises(ValueError, match="lesion masks"):
        method_scorecard(trained.model, el.Split(trained.dataset.test.images, trained.dataset.test.labels))


def test_deeper_cnn_gradcam_points_at_the_lesions(model_cache):
    """Issue 5's target: Grad-CAM on the deeper GAP CNN (5 epochs) peaks on the lesions.

    ``bench/explanation_quality.py`` measures 0.80-0.90 over seeds 0-4 (standard tolerance);
    0.7 leaves room for that spread while failing the old raw-pixel, batch-128 model (0.11).
    """
    trained = el.train_or_load("synthetic", "deeper", epochs=5, progress=False)
    assert trained.settings["batch_size"] == 32
    card = method_scorecard(trained.model, trained.dataset.test, ["gradcam"], max_images=300,
                            sanity_images=0)
    assert card.row("gradcam")["pointing"] >= 0.7, card.to_markdown()
    assert card.row("gradcam")["energy"] > 2 * card.row("random")["energy"], card.to_markdown()
