"""ROAD (Rong et al., 2022) and smooth / efficient MPRT (Hedström et al., 2023) against their formulas."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import expit as sigmoid

import cam_reference
import exercise_logic as el
from exercise_logic.explain import faithfulness, sanity

WEIGHT, BIAS = cam_reference.ONE_PIXEL_WEIGHT, cam_reference.ONE_PIXEL_BIAS


# --- noisy linear imputation ----------------------------------------------------------------

def test_imputed_pixel_is_the_weighted_mean_of_its_eight_neighbours():
    image = np.random.default_rng(0).random((1, 5, 5, 2), dtype=np.float32)
    removed = np.zeros((1, 5, 5), bool)
    removed[0, 2, 2] = True
    filled = faithfulness.noisy_linear_imputation(image, removed, noise=0.0)
    window = image[0, 1:4, 1:4].astype(np.float64)
    weights = np.array([[1, 2, 1], [2, 0, 2], [1, 2, 1]]) / 12.0
    np.testing.assert_allclose(filled[0, 2, 2], np.einsum("ij,ijc->c", weights, window), rtol=1e-5)
    untouched = ~removed[0]
    np.testing.assert_array_equal(filled[0][untouched], image[0][untouched])


def test_imputation_reproduces_a_ramp_and_adds_the_stated_noise():
    """A linear ramp is harmonic, so a removed block inside the image is filled exactly."""
    ramp = np.tile(np.linspace(0, 1, 12, dtype=np.float32)[np.newaxis, :, np.newaxis], (12, 1, 3))
    images = np.stack([ramp, ramp.transpose(1, 0, 2)])
    removed = np.zeros((2, 12, 12), bool)
    removed[0, 3:9, 2:7] = True
    removed[1, 2:6, 5:10] = True
    filled = faithfulness.noisy_linear_imputation(images, removed, noise=0.0)
    np.testing.assert_allclose(filled, images, atol=1e-5)
    noisy = faithfulness.noisy_linear_imputation(images, removed, noise=0.01, seed=1)
    residual = (noisy - images)[removed]
    assert 0.008 < residual.std() < 0.012 and np.all((noisy - images)[~removed] == 0)
    with pytest.raises(ValueError, match="every pixel"):
        faithfulness.noisy_linear_imputation(images, np.ones((2, 12, 12), bool))
    with pytest.raises(ValueError, match="shape"):
        faithfulness.noisy_linear_imputation(images, removed[:, :5])


# --- ROAD -----------------------------------------------------------------------------------

def test_road_both_orders_on_a_hand_built_model(one_pixel_model):
    """Only pixel (0, 0) = 1 (the rest 0) matters. Removing it imputes 0 from its neighbours."""
    image = np.zeros((1, 4, 4, 1), np.float32)
    image[0, 0, 0] = 1.0
    right = np.zeros((4, 4), np.float32)
    right[0, 0] = 1.0
    images, maps = np.repeat(image, 2, axis=0), np.stack([right, 1.0 - right])
    result = el.explain.road(one_pixel_model, images, maps, noise=0.0)
    high, low = sigmoid(WEIGHT + BIAS), sigmoid(BIAS)
    np.testing.assert_allclose(result.fractions, np.arange(1, 10) / 10)
    np.testing.assert_array_equal(result.targets, [1, 1])
    # The right map: MoRF removes (0, 0) first, LeRF never reaches it (at most 90% removed).
    np.testing.assert_allclose(result.morf[0], low, rtol=1e-5)
    np.testing.assert_allclose(result.lerf[0], high, rtol=1e-5)
    # The wrong map: the opposite.
    np.testing.assert_allclose(result.morf[1], high, rtol=1e-5)
    np.testing.assert_allclose(result.lerf[1], low, rtol=1e-5)
    np.testing.assert_allclose(result.combined, [(high - low) / 2, (low - high) / 2], rtol=1e-5)
    assert result.mean_morf == pytest.approx((low + high) / 2)
    # The normal class follows 1 - p; one image per chunk gives the same curves.
    normal = el.explain.road(one_pixel_model, images, maps, target=0, noise=0.0, batch_size=1)
    np.testing.assert_allclose(normal.morf, 1 - result.morf, rtol=1e-5)
    # With the default noise the curves barely move.
    noisy = el.explain.road(one_pixel_model, images, maps)
    np.testing.assert_allclose(noisy.morf, result.morf, atol=0.1)


def test_road_errors(one_pixel_model):
    images = np.ones((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="maps must have shape"):
        el.explain.road(one_pixel_model, images, np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="fractions"):
        el.explain.road(one_pixel_model, images, np.ones((1, 4, 4)), fractions=[0.5, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        el.explain.road(one_pixel_model, images, np.full((1, 4, 4), np.nan))


# --- smooth and efficient MPRT --------------------------------------------------------------

def test_discrete_entropy_is_quantus_histogram_entropy():
    maps = np.random.default_rng(0).random((3, 10, 10)) ** np.array([1, 3, 9])[:, None, None]
    expected = [stats.entropy(np.histogram(m, bins=100)[0]) for m in maps]
    np.testing.assert_allclose(sanity.discrete_entropy(maps), expected, rtol=1e-9)
    assert sanity.discrete_entropy(np.zeros((1, 4, 4)))[0] == 0
    spread = np.arange(100, dtype=np.float64).reshape(1, 10, 10)
    assert sanity.discrete_entropy(spread)[0] == pytest.approx(np.log(100))


def test_smooth_mprt_averages_noisy_maps_bottom_up(random_cnn):
    images = el.load_dataset("synthetic").test.images[:3]
    before = [weight.copy() for weight in random_cnn.get_weights()]
    engine = el.cam_engine(random_cnn, None, "gradcam")
    targets = np.array([1, 0, 1], np.int32)
    # The smoothed map is the mean of the maps of the noisy copies (the last copy noise-free).
    smooth = sanity.smoothed_maps(engine, images, targets, samples=4, noise=0.1, seed=5)
    jitter = np.random.default_rng(5).standard_normal((3, 3) + images.shape[1:]).astype(np.float32)
    spread = images.max(axis=(1, 2, 3)) - images.min(axis=(1, 2, 3))
    for index, image in enumerate(images):
        copies = [image + 0.1 * spread[index] * jitter[index, copy] for copy in range(3)] + [image]
        expected = el.gradcam(random_cnn, np.stack(copies), target=int(targets[index])).mean(axis=0)
        np.testing.assert_allclose(smooth[index], expected, atol=1e-5)
    np.testing.assert_allclose(sanity.smoothed_maps(engine, images, targets, samples=3, noise=0.0),
                               el.gradcam(random_cnn, images, target=targets), atol=1e-6)

    result = sanity.smooth_mprt(random_cnn, images, ["gradcam", "saliency"], target=1, samples=4)
    assert result.layers[1] == sanity.weighted_layers(random_cnn)[0][0]      # bottom up: first conv first
    assert len(result.layers) == len(sanity.weighted_layers(random_cnn)) + 1
    np.testing.assert_allclose(result.spearman["saliency"][0], 1.0)
    assert np.nanmean(result.spearman["saliency"][-1]) < 0.9
    plain = sanity.cascading_randomisation_maps(random_cnn, images, ["gradcam"], target=1, order="bottom_up")
    single = sanity.cascading_randomisation_maps(random_cnn, images, ["gradcam"], target=1, order="bottom_up",
                                                 smooth_samples=1)
    np.testing.assert_array_equal(plain.maps["gradcam"], single.maps["gradcam"])
    with pytest.raises(ValueError, match="order"):
        sanity.smooth_mprt(random_cnn, images, order="sideways")
    with pytest.raises(ValueError, match="smooth_samples"):
        sanity.cascading_randomisation_maps(random_cnn, images, smooth_samples=0)
    for old, new in zip(before, random_cnn.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_efficient_mprt_is_the_relative_rise_in_entropy(random_cnn):
    images = el.load_dataset("synthetic").test.images[:4]
    result = sanity.efficient_mprt(random_cnn, images, ["gradcam", "saliency"], target=1, seed=2)
    np.testing.assert_allclose(result.trained["gradcam"],
                               sanity.discrete_entropy(el.gradcam(random_cnn, images, target=1)), rtol=1e-6)
    # The fully randomised model, rebuilt by hand: every weighted layer re-initialised, bottom up.
    copy = sanity.copy_model(random_cnn)
    for step, (_, layer) in enumerate(sanity.weighted_layers(copy), start=1):
        sanity.randomise_layer(layer, 2 * 7919 + step)
    np.testing.assert_allclose(result.randomised["saliency"],
                               sanity.discrete_entropy(el.gradcam(copy, images, target=1, method="saliency")),
                               rtol=1e-6)
    trained, randomised = result.trained["saliency"], result.randomised["saliency"]
    np.testing.assert_allclose(result.rise("saliency"), (randomised - trained) / trained)
    assert result.final()["saliency"] == pytest.approx(np.mean((randomised - trained) / trained))
    blank = result.trained["gradcam"] == 0        # an all-zero map has no complexity to rise from
    assert np.all(np.isnan(result.rise("gradcam")[blank]))
    assert result.layers == [path for path, _ in sanity.weighted_layers(random_cnn)]
