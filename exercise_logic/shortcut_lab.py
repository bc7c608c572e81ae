"""The shortcut-learning lab: a corner marker that "predicts" the label.

Two models are trained on the synthetic chest X-rays:

- the **shortcut model**: the small "L" marker in the top-left corner follows
  the label with ``strength`` (e.g. 0.95) in the training and validation data;
- the **control**: the marker is drawn on about half of the images,
  independently of the label (``marker_strength=0``).

Both are tested on the same test split, where the marker is independent of
the label. A model that learned the marker looks good on its validation data
and drops on the test set, and its Grad-CAM for the abnormal class peaks on
the marker instead of the lesions.
"""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from .data.datasets import ABNORMAL
from .data.synthetic import marker_region
from .evaluation import predict_proba
from .explain.api import cam_engine
from .explain.localisation import peak_in_region, pointing_game
from .training import TrainedModel, train_or_load


@dataclasses.dataclass
class ModelReport:
    """One model's numbers in the lab (accuracies and map fractions in [0, 1]).

    Attributes
    ----------
    val_accuracy : float
        On its own validation split (marker correlated for the shortcut model).
    test_accuracy : float
        On the test split (marker independent of the label).
    conflict_accuracy : float
        On the test images whose marker contradicts the label (a marker on a
        normal image, or none on an abnormal one).
    marker_peak : float
        Fraction of abnormal-class Grad-CAM maps, over the test images that
        carry a marker, whose peak lies in the marker's corner box.
    pointing : float
        Pointing game (standard tolerance, 2 px at 28 px) of the abnormal-class maps on the
        abnormal test images.
    """
    val_accuracy: float
    test_accuracy: float
    conflict_accuracy: float
    marker_peak: float
    pointing: float


@dataclasses.dataclass
class ShortcutLabResult:
    """Shortcut model vs control. ``summary()`` explains the numbers in Japanese and English.

    Attributes
    ----------
    shortcut, control : ModelReport
    strength : float
        Marker-label correlation in the shortcut model's training data.
    model_type : str
    epochs : int
    n_marker_images, n_abnormal_images : int
        Test images behind ``marker_peak`` and ``pointing``.
    method : str
        The explanation method (Grad-CAM by default).
    trained : dict of str to TrainedModel
        ``'shortcut'`` and ``'control'`` (for figures; not part of the repr).
    """
    shortcut: ModelReport
    control: ModelReport
    strength: float
    model_type: str
    epochs: int
    n_marker_images: int
    n_abnormal_images: int
    method: str = "gradcam"
    trained: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def accuracy_drop(self) -> float:
        """Shortcut model: validation minus test accuracy, in percentage points."""
        return 100.0 * (self.shortcut.val_accuracy - self.shortcut.test_accuracy)

    @property
    def control_drop(self) -> float:
        """The same drop for the control, in percentage points."""
        return 100.0 * (self.control.val_accuracy - self.control.test_accuracy)

    def summary(self, lang: str = "both") -> str:
        """The lab's result in words: ``'ja'``, ``'en'`` or ``'both'`` (Japanese first)."""
        if lang not in ("ja", "en", "both"):
            raise ValueError(f"lang must be 'ja', 'en' or 'both', got {lang!r}")
        s, c = self.shortcut, self.control
        shortcut_shown = s.marker_peak > c.marker_peak and self.accuracy_drop > self.control_drop
        ja = (
            f"ショートカット学習ラボ（{self.model_type} CNN、{self.epochs} エポック、"
            f"マーカーとラベルの相関 {self.strength:.2f}）\n"
            f"- ショートカットモデル: 検証精度 {s.val_accuracy:.1%} → テスト精度 {s.test_accuracy:.1%}"
            f"（{self.accuracy_drop:.1f} ポイント低下）。マーカーがラベルと矛盾する画像での精度 "
            f"{s.conflict_accuracy:.1%}。\n"
            f"- 対照モデル（マーカーはラベルと無関係）: 検証精度 {c.val_accuracy:.1%}、テスト精度 "
            f"{c.test_accuracy:.1%}、矛盾画像での精度 {c.conflict_accuracy:.1%}。\n"
            f"- 「異常」の Grad-CAM がマーカーの角で最大になる割合（マーカーのある {self.n_marker_images} 枚）: "
            f"ショートカット {s.marker_peak:.0%}、対照 {c.marker_peak:.0%}。\n"
            f"- 病変へのポインティングゲーム（異常画像 {self.n_abnormal_images} 枚）: "
            f"ショートカット {s.pointing:.0%}、対照 {c.pointing:.0%}。\n"
            + ("→ ショートカットモデルは病変ではなくマーカーを見て判断しています。"
               if shortcut_shown else "→ この設定ではショートカットの証拠ははっきりしません。"))
        en = (
            f"Shortcut-learning lab ({self.model_type} CNN, {self.epochs} epoch{'s' if self.epochs != 1 else ''}, "
            f"marker-label correlation {self.strength:.2f})\n"
            f"- Shortcut model: validation accuracy {s.val_accuracy:.1%} -> test accuracy "
            f"{s.test_accuracy:.1%} (a drop of {self.accuracy_drop:.1f} points). Accuracy on images "
            f"whose marker contradicts the label: {s.conflict_accuracy:.1%}.\n"
            f"- Control (marker independent of the label): validation {c.val_accuracy:.1%}, test "
            f"{c.test_accuracy:.1%}, contradicting images {c.conflict_accuracy:.1%}.\n"
            f"- Abnormal-class Grad-CAM maps peaking in the marker corner ({self.n_marker_images} "
            f"images with a marker): shortcut {s.marker_peak:.0%}, control {c.marker_peak:.0%}.\n"
            f"- Lesion pointing game ({self.n_abnormal_images} abnormal images): shortcut "
            f"{s.pointing:.0%}, control {c.pointing:.0%}.\n"
            + ("-> The shortcut model decides by the marker, not by the lesions."
               if shortcut_shown else "-> With these settings the evidence of a shortcut is not clear."))
        return {"ja": ja, "en": en, "both": ja + "\n\n" + en}[lang]


def _accuracy(model, split) -> float:
    predicted = predict_proba(model, split.images).argmax(axis=1)
    return float(np.mean(predicted == np.asarray(split.labels).astype(int)))


def evaluate_model(trained: TrainedModel, method: str = "gradcam") -> tuple[ModelReport, int, int]:
    """One model's :class:`ModelReport` on its dataset's test split (and the image counts)."""
    test = trained.dataset.test
    if test.markers is None or test.masks is None:
        raise ValueError("the shortcut lab needs the synthetic dataset (markers and lesion masks)")
    labels = np.asarray(test.labels).astype(int)
    predicted = predict_proba(trained.model, test.images).argmax(axis=1)
    conflict = test.markers != (labels == ABNORMAL)
    region = marker_region(test.images.shape[1])
    marker_peaks, pointing = [np.zeros(0, bool)], [np.zeros(0)]
    # Batch by batch: the maps of the whole split never exist at once.
    for part, maps, _, _ in cam_engine(trained.model, None, method).explain_batches(test.images, ABNORMAL):
        marker_peaks.append(peak_in_region(maps[test.markers[part]], region))
        abnormal = labels[part] == ABNORMAL
        pointing.append(pointing_game(maps[abnormal], test.masks[part][abnormal]))
    marker_peaks, pointing = np.concatenate(marker_peaks), np.concatenate(pointing)
    report = ModelReport(
        val_accuracy=_accuracy(trained.model, trained.dataset.val),
        test_accuracy=float(np.mean(predicted == labels)),
        conflict_accuracy=float(np.mean(predicted[conflict] == labels[conflict])) if conflict.any()
        else float("nan"),
        marker_peak=float(np.mean(marker_peaks)) if len(marker_peaks) else float("nan"),
        pointing=float(np.nanmean(pointing)) if len(pointing) else float("nan"))
    return report, len(marker_peaks), len(pointing)


def run_shortcut_lab(model_type: str = "simple", strength: float = 0.95, epochs: int = 5, seed: int = 0,
                     cache_dir=None, progress=False, size: int = 28, method: str = "gradcam") -> ShortcutLabResult:
    """Train (or load) a shortcut model and a control, and measure the shortcut.

    Parameters
    ----------
    model_type : {'simple', 'deeper', 'transfer'}
    strength : float
        How strongly the marker follows the label in training/validation, in (0, 1].
    epochs, seed : int
        Training settings of both models (cached by :func:`train_or_load`).
    cache_dir : path, optional
        Trained-model cache (default ``$EXERCISE_LOGIC_CACHE``).
    progress : bool or callable
        As for :func:`train_or_load`; a callable gets ``(epoch, epochs, logs)``.
    size : int
        Image size (28, 64, 128 or 224).
    method : str
        Explanation method for the map fractions (default Grad-CAM).

    Returns
    -------
    ShortcutLabResult
    """
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real) or not 0 < strength <= 1:
        raise ValueError(f"strength must be a number in (0, 1], got {strength!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    trained = {}
    for name, marker_strength in (("shortcut", float(strength)), ("control", 0.0)):
        trained[name] = train_or_load("synthetic", model_type, size=size, epochs=epochs, seed=seed,
                                      marker_strength=marker_strength, cache_dir=cache_dir,
                                      progress=progress)
    shortcut, n_marker, n_abnormal = evaluate_model(trained["shortcut"], method)
    control, _, _ = evaluate_model(trained["control"], method)
    return ShortcutLabResult(shortcut, control, float(strength), model_type, int(epochs), n_marker,
                             n_abnormal, method, trained)


def plot_shortcut_lab(result: ShortcutLabResult, examples: int = 4, opacity: float = 0.5):
    """A figure of the lab: accuracies, then abnormal-class maps of both models.

    Parameters
    ----------
    result : ShortcutLabResult
        From :func:`run_shortcut_lab` (it keeps the trained models).
    examples : int
        Test images shown, all carrying the marker: normal ones first (where
        the marker contradicts the label), then abnormal ones.
    opacity : float
        Heatmap opacity of the overlays.

    Returns
    -------
    matplotlib.figure.Figure
        Left: validation / test / contradicting-image accuracy of both models.
        Right: per model, Grad-CAM (abnormal class) overlays with the marker
        box (dashed) and the lesion outlines.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from .rendering import overlay

    if not result.trained:
        raise ValueError("this result holds no trained models; run run_shortcut_lab() again")
    if examples < 1:
        raise ValueError(f"examples must be at least 1, got {examples}")
    test = result.trained["shortcut"].dataset.test
    labels = np.asarray(test.labels).astype(int)
    normal_marked = np.flatnonzero((labels == 0) & test.markers)
    abnormal_marked = np.flatnonzero((labels == ABNORMAL) & test.markers)
    chosen = np.concatenate([normal_marked[:(examples + 1) // 2], abnormal_marked[:examples // 2]])
    size = test.images.shape[1]
    r0, c0 = np.argwhere(marker_region(size)).min(axis=0)
    r1, c1 = np.argwhere(marker_region(size)).max(axis=0) + 1

    figure = plt.figure(figsize=(3 + 2.2 * len(chosen), 5))
    grid = figure.add_gridspec(2, len(chosen) + 2)
    bars = figure.add_subplot(grid[:, :2])
    names = ("val", "test", "contradicting")
    for offset, (label, report) in enumerate((("shortcut", result.shortcut), ("control", result.control))):
        values = [report.val_accuracy, report.test_accuracy, report.conflict_accuracy]
        bars.bar(np.arange(3) + 0.38 * offset, values, width=0.36, label=label)
    bars.set_xticks(np.arange(3) + 0.19, names)
    bars.set_ylim(0, 1)
    bars.set_ylabel("accuracy")
    bars.axhline(0.5, color="grey", lw=0.8, ls=":")
    bars.legend(loc="lower left", fontsize="small")
    bars.set_title(f"drop {result.accuracy_drop:.0f} pts; marker peaks "
                   f"{result.shortcut.marker_peak:.0%} vs {result.control.marker_peak:.0%}", fontsize="small")
    for row, name in enumerate(("shortcut", "control")):
        model = result.trained[name].model
        maps = cam_engine(model, None, result.method)(test.images[chosen], ABNORMAL)
        probabilities = predict_proba(model, test.images[chosen])[:, 1]
        for column, index in enumerate(chosen):
            axis = figure.add_subplot(grid[row, column + 2])
            axis.imshow(overlay(test.images[index], maps[column], opacity=opacity), extent=(0, size, size, 0))
            axis.add_patch(Rectangle((c0, r0), c1 - c0, r1 - r0, fill=False, ec="white", ls="--", lw=1))
            if test.masks[index].any():
                axis.contour(np.arange(size) + 0.5, np.arange(size) + 0.5, test.masks[index].astype(float),
                             levels=[0.5], colors="lime", linewidths=0.8)
            truth = "abnormal" if labels[index] else "normal"
            axis.set_title(f"{name}: {truth}\np(abnormal)={probabilities[column]:.2f}", fontsize=8)
            axis.axis("off")
    figure.tight_layout()
    return figure
