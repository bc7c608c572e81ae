"""Diagnosing a student's Grad-CAM: which known mistake their maps show, and what in them shows it.

NumPy only at diagnosis time (:func:`diagnose`); TensorFlow only to describe a
case (:func:`case_facts`). Used by the grader (after the sandboxed cross-check)
and by a notebook's self-check (in the student's own kernel).
"""
from .diagnose import Case, Diagnosis, Finding, case_facts, diagnose, differs, load_cases, save_cases
from .mistakes import MISTAKES, STEPS, Mistake

__all__ = ["Case", "Diagnosis", "Finding", "case_facts", "diagnose", "differs", "load_cases", "save_cases",
           "MISTAKES", "STEPS", "Mistake"]
