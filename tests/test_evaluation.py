"""Rank-based ROC-AUC, checked on cases small enough to count by hand."""
import math

import exercise_logic as el


def test_roc_auc_by_hand():
    assert el.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75  # 3 of 4 pairs ordered
    assert el.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.3]) == 1.0
    assert el.roc_auc([0, 1, 0, 1], [1, 1, 1, 1]) == 0.5  # ties count half
    assert math.isnan(el.roc_auc([1, 1], [0.2, 0.9]))
