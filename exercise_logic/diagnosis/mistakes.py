"""The known Grad-CAM mistakes: which step of the recipe each breaks; their names and hints are messages.

The lecture's recipe: gradients -> channel weights -> weighted sum -> ReLU ->
normalise -> upsample. A mistake's name and hint are the catalogue's
``mistake.<key>.name`` and ``mistake.<key>.hint``, a step's name is
``recipe_step.<step>`` (:mod:`exercise_logic.messages`); hints point to a step
and never give code. How each mistake changes a map is said step by step in
:mod:`.properties`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..messages import message

STEPS = ("gradients", "weights", "sum", "relu", "normalise", "upsample")   # the recipe, in order


@dataclass(frozen=True)
class Mistake:
    """One known mistake: its key (of its messages) and the step of the recipe it breaks."""

    key: str
    step: str

    def name(self, lang: str) -> str:
        return message(f"mistake.{self.key}.name", lang)

    def hint(self, lang: str) -> str:
        return message(f"mistake.{self.key}.hint", lang)

    def step_name(self, lang: str) -> str:
        return message(f"recipe_step.{self.step}", lang)

    def hint_at_step(self, lang: str) -> str:
        """The hint after the name of its step: ``'step 4, ReLU: negative values...'``."""
        return f"{self.step_name(lang)}: {self.hint(lang)}"


MISTAKES = {m.key: m for m in (
    Mistake("no_relu", "relu"),
    Mistake("abs", "relu"),
    Mistake("no_normalisation", "normalise"),
    Mistake("sum_normalisation", "normalise"),
    Mistake("nan_on_zero", "normalise"),
    Mistake("nearest", "upsample"),
    Mistake("height_width_swapped", "upsample"),
    Mistake("class_index_ignored", "gradients"),
    Mistake("layer_ignored", "gradients"),
    Mistake("wrong_tensor", "gradients"),
    Mistake("wrong_pooling_axis", "weights"),
    Mistake("max_pooled_gradients", "weights"),
    Mistake("gradients_not_pooled", "weights"),
    Mistake("weights_on_gradients", "sum"),
    Mistake("all_zero", "gradients"),
)}
