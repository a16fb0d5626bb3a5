"""Continual-learning metrics against hand-computed matrices (DESIGN.md definitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikemem.evaluation.continual import (
    accuracy,
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    continual_metrics,
    forgetting,
    forward_transfer,
    learning_accuracy,
    mean_matrix,
    metric_values,
    summarize_seeds,
)

R = np.array(
    [
        [0.90, 0.10, 0.20],
        [0.80, 0.95, 0.30],
        [0.70, 0.85, 0.90],
    ]
)
BASELINE = [0.10, 0.10, 0.10]


def test_hand_computed_three_tasks() -> None:
    # ACC = (0.70 + 0.85 + 0.90) / 3; BWT = ((0.70 - 0.90) + (0.85 - 0.95)) / 2
    # FWT = ((R[0,1] - b1) + (R[1,2] - b2)) / 2 = (0.00 + 0.20) / 2
    # forgetting = ((0.90 - 0.70) + (0.95 - 0.85)) / 2
    metrics = continual_metrics(R, BASELINE)
    assert metrics["ACC"] == pytest.approx(2.45 / 3)
    assert metrics["BWT"] == pytest.approx(-0.15)
    assert metrics["FWT"] == pytest.approx(0.10)
    assert metrics["forgetting"] == pytest.approx(0.15)
    assert metrics["LA"] == pytest.approx((0.90 + 0.95 + 0.90) / 3)  # the diagonal


def test_learning_accuracy_tells_freezing_from_not_forgetting() -> None:
    # a frozen network keeps task 0 and never learns the rest: no forgetting, but LA shows it
    frozen = np.array([[0.9, 0.5, 0.5], [0.9, 0.5, 0.5], [0.9, 0.5, 0.5]])
    assert forgetting(frozen) == 0.0 and backward_transfer(frozen) == 0.0
    assert learning_accuracy(frozen) == pytest.approx(1.9 / 3)


def test_results_written_before_learning_accuracy_existed_get_it_from_r() -> None:
    stored = {"R": R.tolist(), "ACC": 0.8, "BWT": -0.1, "FWT": 0.0, "forgetting": 0.1}
    values = metric_values(stored)
    assert list(values) == ["ACC", "LA", "BWT", "FWT", "forgetting"]
    assert values["LA"] == pytest.approx(learning_accuracy(R)) and values["ACC"] == 0.8


def test_forgetting_uses_the_best_earlier_row_not_the_diagonal() -> None:
    # task 0 improves after task 1 (0.6 -> 0.8), then drops to 0.5: forgetting 0.3, BWT only -0.1
    matrix = np.array([[0.6, 0.1, 0.1], [0.8, 0.9, 0.1], [0.5, 0.9, 0.7]])
    assert backward_transfer(matrix) == pytest.approx(((0.5 - 0.6) + (0.9 - 0.9)) / 2)
    assert forgetting(matrix) == pytest.approx(((0.8 - 0.5) + (0.9 - 0.9)) / 2)
    assert average_accuracy(matrix) == pytest.approx(0.7)
    assert forward_transfer(matrix, [0.0, 0.05, 0.2]) == pytest.approx(((0.1 - 0.05) + (0.1 - 0.2)) / 2)


def test_no_forgetting_gives_zero() -> None:
    # 0.9 on every task from the moment it is learned, 0.1 before
    matrix = np.where(np.tri(4, dtype=bool), 0.9, 0.1)
    assert backward_transfer(matrix) == 0.0
    assert forgetting(matrix) == 0.0
    assert average_accuracy(matrix) == pytest.approx(0.9)


def test_single_task_has_no_transfer() -> None:
    metrics = continual_metrics(np.array([[0.8]]), [0.1])
    assert metrics["ACC"] == pytest.approx(0.8)
    assert all(math.isnan(metrics[k]) for k in ("BWT", "FWT", "forgetting"))


def test_matrix_from_predictions() -> None:
    labels = [np.array([0, 1, 2, 3]), np.array([1, 1, 0, 0])]
    predictions = [
        [np.array([0, 1, 2, 0]), np.array([0, 0, 0, 0])],  # 3/4, 2/4
        [np.array([0, 1, 0, 0]), np.array([1, 1, 0, 0])],  # 2/4, 4/4
    ]
    assert np.allclose(accuracy_matrix(predictions, labels), [[0.75, 0.5], [0.5, 1.0]])
    with pytest.raises(ValueError, match="2 x 2"):
        accuracy_matrix(predictions[:1], labels)
    with pytest.raises(ValueError, match="shape"):
        accuracy(np.zeros(3), np.zeros(4))


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="square"):
        average_accuracy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one accuracy per task"):
        forward_transfer(R, [0.1, 0.1])


def test_mean_and_std_over_seeds() -> None:
    runs = [{"ACC": 0.8, "BWT": -0.1}, {"ACC": 0.9, "BWT": -0.3}, {"ACC": 1.0, "BWT": -0.2}]
    summary = summarize_seeds(runs)
    assert summary["ACC"]["mean"] == pytest.approx(0.9)
    assert summary["ACC"]["std"] == pytest.approx(0.1)  # sample std (ddof=1)
    assert summary["BWT"]["mean"] == pytest.approx(-0.2)
    assert summary["BWT"]["n"] == 3
    assert summarize_seeds([{"ACC": 0.5}])["ACC"]["std"] == 0.0
    mean, std = mean_matrix([R, R + 0.02])
    assert np.allclose(mean, R + 0.01)
    assert np.allclose(std, np.std([0.0, 0.02], ddof=1))
