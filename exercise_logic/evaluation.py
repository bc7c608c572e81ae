"""Scoring a trained model: class probabilities, accuracy and ROC-AUC."""
from __future__ import annotations

import numpy as np

from .streaming import image_batches


def per_class(probabilities: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities: a single sigmoid column p becomes [1 - p, p] (normal, abnormal)."""
    if probabilities.shape[-1] == 1:
        return np.concatenate([1.0 - probabilities, probabilities], axis=-1)
    return probabilities


def probabilities_from_logits(logits, kind: str) -> np.ndarray:
    """(N, classes) probabilities from logits, for a head of ``kind`` ('sigmoid', 'softmax', 'linear').

    Sigmoids for a sigmoid head (and a linear head with one unit), else a softmax;
    a single unit becomes [normal, abnormal].
    """
    logits = np.asarray(logits, dtype=np.float64)
    if kind == "sigmoid" or (kind == "linear" and logits.shape[-1] == 1):
        return per_class(1.0 / (1.0 + np.exp(-logits)))
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def predict_proba(model, images, batch_size: int = 512) -> np.ndarray:
    """Class probabilities, shape (N, classes); a single sigmoid gives [normal, abnormal].

    ``images`` is a float32 array (N, H, W, C) or a split's streamed images,
    read ``batch_size`` at a time (fewer for images over 64 px).
    """
    outputs = [np.asarray(model.predict_on_batch(batch), np.float32)
               for _, batch in image_batches(images, batch_size, scaled=True)]
    if not outputs:
        return per_class(np.zeros((0, int(model.outputs[0].shape[-1])), np.float32))
    return per_class(np.concatenate(outputs))


def roc_auc(labels, scores) -> float:
    """Binary ROC-AUC by ranks (ties get their mean rank); NaN if one class is absent."""
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    positives, negatives = labels.sum(), (~labels).sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)  # 1-based mean rank of each tie run
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def evaluate(model, images, labels, multi_label: bool = False) -> dict:
    """Test-set accuracy and ROC-AUC (macro one-vs-rest for several classes).

    ``images``: a float32 array or a split's streamed images (read in batches).
    """
    probabilities = predict_proba(model, images)
    labels = np.asarray(labels)
    if multi_label:
        predicted = probabilities >= 0.5
        accuracy = float((predicted == labels.astype(bool)).mean())
        aucs = [roc_auc(labels[:, k], probabilities[:, k]) for k in range(labels.shape[1])]
    else:
        classes = labels.astype(int).ravel()
        accuracy = float((probabilities.argmax(axis=1) == classes).mean())
        if probabilities.shape[1] == 2:
            aucs = [roc_auc(classes == 1, probabilities[:, 1])]
        else:
            aucs = [roc_auc(classes == k, probabilities[:, k]) for k in range(probabilities.shape[1])]
    aucs = [auc for auc in aucs if not np.isnan(auc)]
    return {"accuracy": accuracy, "roc_auc": float(np.mean(aucs)) if aucs else float("nan"),
            "n_test": int(len(labels))}
