"""The assignment notebook's self-check: a student's ``compute_gradcam`` on chest X-rays, before submitting.

    check = exercise_logic.self_check(compute_gradcam, model, lang="en")

It runs in the student's own kernel (Colab, a JupyterHub, a laptop; offline),
calls their function on a few synthetic chest X-rays with a lesion, with the
lecture's CNN (one sigmoid), a 4-class softmax CNN, a non-square input, both
conv layers and both binary classes (and on ``model``, if given), and says
per case whether the map matches the reference; then it names the likely
mistake with the hint to the recipe's step, and draws the student's map
beside the reference map over the X-ray. Its cases are its own (other seeds,
other images than any hidden test) and it shows no code: the hidden tests
and the grader's cross-check still decide the grade.

Set ``$EXERCISE_LOGIC_SELF_CHECK=off`` (the grader does) to make it print a
one-line note instead: grading a notebook must not spend time on it.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass

import numpy as np

from .map_differences import describe
from .messages import LANGUAGES, message

SWITCH = "EXERCISE_LOGIC_SELF_CHECK"
PAIRS = ("ja", "en")        # the order of the (Japanese, English) pairs of map_differences and diagnosis
NEEDS_CJK_FONT = {"ja"}     # languages that matplotlib's default font cannot draw
SHOWN_PICTURES = 3          # at most this many failing cases are drawn

# Built with build_model(shape, outputs) after keras.utils.set_random_seed(seed): seeds of their own,
# so no self-check model is a hidden test's.
MODELS = {
    "binary": ((28, 28, 3), 1, 31),
    "multi": ((28, 28, 3), 4, 32),
    "wide": ((24, 32, 3), 1, 33),
}


@dataclass(frozen=True)
class Case:
    """One call of the student's function: a model, a layer ("last" or "first"), a class, an X-ray seed."""

    model: str
    layer: str
    class_index: int | None
    xray_seed: int
    title_id: str              # its title is the catalogue's self_check.case.<title_id>

    def title(self, lang: str) -> str:
        return message(f"self_check.case.{self.title_id}", lang)

    @property
    def group(self) -> str:
        """Cases of one group differ only in the class (the diagnosis compares their maps)."""
        return f"{self.model}-{self.xray_seed}-{self.layer}"

    @property
    def key(self) -> str:
        return f"{self.group}-{self.class_index}"


CASES = (
    Case("binary", "last", None, 41, "lecture_predicted"),
    Case("binary", "last", 0, 41, "lecture_normal"),
    Case("binary", "first", 1, 42, "lecture_first_layer"),
    Case("multi", "last", None, 43, "multi_predicted"),
    Case("multi", "last", 2, 43, "multi_class_2"),
    Case("wide", "last", None, 44, "non_square"),
)
OWN_CASES = (
    Case("yours", "last", None, 45, "yours_predicted"),
    Case("yours", "last", 0, 45, "yours_normal"),
)

@dataclass
class CaseResult:
    """What the student's function did on one case."""

    case: Case
    image: np.ndarray          # (1, H, W, 3) float32
    mask: np.ndarray           # (H, W) bool, the lesion
    facts: object              # exercise_logic.diagnosis.Case: the reference map and what the diagnosis needs
    cam: np.ndarray | None = None
    error: str | None = None

    @property
    def reference(self) -> np.ndarray:
        return self.facts.reference

    @property
    def passed(self) -> bool:
        from .diagnosis import differs
        return self.error is None and not differs(self.cam, self.reference)

    def line(self, lang: str) -> str:
        if self.error is not None:
            return message("self_check.raised", lang, error=self.error)
        return describe(self.cam, self.reference)[PAIRS.index(lang)]


@dataclass
class SelfCheckResult:
    """The self-check's verdict: ``passed``, each case's result and the diagnosis of the likely mistakes."""

    cases: list[CaseResult]
    diagnosis: object = None   # exercise_logic.diagnosis.Diagnosis, when a case failed
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.cases)

    @property
    def mistakes(self) -> list[str]:
        """The keys of the likely mistakes (see ``exercise_logic.diagnosis.MISTAKES``)."""
        return list(self.diagnosis.mistakes) if self.diagnosis is not None else []

    def __repr__(self) -> str:
        failed = sum(not result.passed for result in self.cases)
        return f"SelfCheckResult(passed={self.passed}, failed={failed}/{len(self.cases)}, mistakes={self.mistakes})"


def self_check_is_off() -> bool:
    """True while an autograder runs the notebook (``$EXERCISE_LOGIC_SELF_CHECK=off`` or nbgrader's own variable)."""
    return (os.environ.get(SWITCH, "").strip().lower() in {"off", "0", "false", "no"}
            or bool(os.environ.get("NBGRADER_EXECUTION")))


def self_check(compute_gradcam, model=None, lang: str | None = None, *, show: bool = True):
    """Check a student's ``compute_gradcam`` before submitting: the verdict per case, the likely mistake, pictures.

    Parameters
    ----------
    compute_gradcam : callable
        ``compute_gradcam(model, img_array, last_conv_layer_name, class_index)``
        returning an (H, W) map in [0, 1], the assignment's contract.
    model : keras.Model, optional
        Also check the function on this model (e.g. the lecture's trained CNN
        with one sigmoid output); it must have a layer called ``last_conv_layer``.
    lang : {'ja', 'en'}, optional
        The language of the printout; default both (Japanese first). The
        assignment's notebooks pass their own.
    show : bool, default True
        Print the verdict and draw the failing cases' maps (matplotlib).

    Returns
    -------
    SelfCheckResult or None
        None, after a one-line note, while grading (see :func:`self_check_is_off`).
    """
    if lang not in (None, *LANGUAGES):
        raise ValueError(f"lang must be {', '.join(map(repr, LANGUAGES))} or None, got {lang!r}")
    langs = [lang] if lang else list(LANGUAGES)
    if self_check_is_off():
        print("\n".join(message("self_check.off", code, switch=SWITCH) for code in langs), flush=True)
        return None
    if not callable(compute_gradcam):
        raise TypeError(f"compute_gradcam must be your function, got {type(compute_gradcam).__name__}")
    started = time.perf_counter()
    cases = list(CASES) + (list(OWN_CASES) if model is not None else [])
    results = [_run(compute_gradcam, case, model) for case in cases]
    outcome = SelfCheckResult(results)
    if not outcome.passed:
        from .diagnosis import diagnose
        outcome.diagnosis = diagnose(
            {result.case.key: result.cam for result in results if result.cam is not None},
            [result.facts for result in results])
    outcome.seconds = time.perf_counter() - started
    if show:
        print(report(outcome, langs), flush=True)
        _draw([result for result in results if not result.passed][:SHOWN_PICTURES], langs)
    return outcome


# -- the cases ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _built(name: str):
    import keras
    from .models import build_model
    shape, outputs, seed = MODELS[name]
    keras.utils.set_random_seed(seed)
    return build_model(shape, outputs)


def _layer_name(model, layer: str) -> str:
    if layer == "last":
        return "last_conv_layer"
    from .explain import conv_layer_names
    return conv_layer_names(model)[0]


def _inputs(case: Case, model):
    """The case's model, X-ray, lesion mask, layer name and the diagnosis's facts (cached per model)."""
    network = model if case.model == "yours" else _built(case.model)
    key = (id(network), case)
    if key not in _FACTS or _FACTS[key][0] is not network:
        from .data.synthetic import lesion_xray
        from .diagnosis import case_facts
        height, width, channels = (int(d) for d in network.inputs[0].shape[1:4])
        image, mask = lesion_xray(height, width, case.xray_seed)
        image = image[..., :channels]
        layer = _layer_name(network, case.layer)
        _FACTS[key] = (network, image, mask, layer, case_facts(
            network, image, layer, case.class_index, key=case.key, group=case.group))
    return _FACTS[key]


_FACTS: dict = {}


def _run(function, case: Case, model) -> CaseResult:
    network, image, mask, layer, facts = _inputs(case, model)
    result = CaseResult(case, image, mask, facts)
    try:
        cam = function(network, image.copy(), layer, case.class_index)
        result.cam = np.array(cam, dtype=np.float64)
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything: it is the verdict
        result.error = f"{type(error).__name__}: {str(error)[:300]}"
    return result


# -- the printout and the pictures ------------------------------------------------------------------
def report(outcome: SelfCheckResult, langs=LANGUAGES) -> str:
    """The verdict as text: each case, then the likely mistake and its hint (or that all is well)."""
    lines = []
    for lang in langs:
        lines.append(message("self_check.title", lang) + " " + message("self_check.seconds", lang, seconds=outcome.seconds))
        for result in outcome.cases:
            mark = "✓" if result.passed else "✗"
            detail = "" if result.passed else ": " + result.line(lang)
            lines.append(f"  {mark} {result.case.title(lang)}{detail}")
        failed = sum(not result.passed for result in outcome.cases)
        if not failed:
            lines.append(message("self_check.all_well", lang))
        else:
            lines.append(message("self_check.failed", lang, failed=failed, total=len(outcome.cases)))
            lines += _mistake_lines(outcome, lang)
        lines.append("")
    return "\n".join(lines).rstrip()


def _mistake_lines(outcome: SelfCheckResult, lang: str) -> list[str]:
    """The named mistakes, each with the evidence seen in the maps and the hint to its step."""
    from .diagnosis import MISTAKES
    found = outcome.diagnosis
    names = [key for key in outcome.mistakes if key in MISTAKES]
    if found is None or not names:
        return [message("self_check.no_match", lang)]
    index = PAIRS.index(lang)
    evidence = {}
    for finding in found.findings:
        evidence.setdefault(finding.key, (finding.evidence_ja, finding.evidence_en)[index])
    lines = []
    if len(names) > 1:
        lead = "self_check.two_at_once" if found.status == "matched" else "self_check.one_of"
        lines.append(message(lead, lang, count=len(names)))
    for key in names:
        mistake = MISTAKES[key]
        name = mistake.name(lang)
        lines.append(message("self_check.mistake", lang, name=name) if len(names) == 1 else f"- {name}")
        if key in evidence:
            lines.append(message("self_check.evidence", lang, evidence=evidence[key]))
        lines.append(message("self_check.hint", lang, step=mistake.step_name(lang), hint=mistake.hint(lang)))
    return lines


def _draw(failing: list[CaseResult], langs) -> None:
    """Each failing case: the student's map and the reference map over the X-ray, one line on what differs."""
    if not failing:
        return
    import matplotlib.pyplot as plt
    from .rendering import _finish_figure, draw_map_over_image
    lang, font = _figure_font(langs[0])
    figure, axes = plt.subplots(len(failing), 2, figsize=(7, 3.2 * len(failing)), squeeze=False)
    for (yours, reference), result in zip(axes, failing):
        if result.cam is not None and result.cam.ndim == 2:
            scale = draw_map_over_image(yours, result.image, result.cam, result.mask)
            figure.colorbar(scale, ax=yours, fraction=0.046, pad=0.04)
        else:
            yours.axis("off")
        scale = draw_map_over_image(reference, result.image, result.reference, result.mask)
        figure.colorbar(scale, ax=reference, fraction=0.046, pad=0.04)
        yours.set_title(f"{message('self_check.yours', lang)}: {result.case.title(lang)}", fontsize=8, loc="left", **font)
        reference.set_title(message("self_check.reference", lang), fontsize=8, **font)
    figure.suptitle(message("self_check.legend", lang), fontsize=8, **font)
    _finish_figure(figure)


def _figure_font(lang: str) -> tuple[str, dict]:
    """The figure's language and font: Japanese only where matplotlib has a Japanese font (Colab has none)."""
    if lang not in NEEDS_CJK_FONT:
        return lang, {}
    from matplotlib import font_manager
    names = sorted({font.name for font in font_manager.fontManager.ttflist})
    japanese = [name for name in names if any(part in name for part in ("IPA", "Noto Sans CJK", "Takao", "Hiragino"))]
    return ("ja", {"fontfamily": japanese[0]}) if japanese else ("en", {})
