"""Scores on classifier outputs, in float64 numpy: Frechet distance and class coverage."""

import math

import numpy as np

NUM_CLASSES = 10


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), in float64.

    Tr((S_a S_b)^1/2) is taken as the sum of square roots of the eigenvalues of S_a^1/2 S_b S_a^1/2,
    a symmetric PSD matrix, which avoids the complex round-off of a general matrix square root.
    """
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = np.cov(features_a, rowvar=False), np.cov(features_b, rowvar=False)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def class_coverage(probs: np.ndarray, threshold: float) -> dict:
    """Predicted-class histogram h; classes with h_c >= threshold count as covered; KL(h || uniform)."""
    histogram = np.bincount(probs.argmax(1), minlength=NUM_CLASSES) / len(probs)
    nonzero = histogram[histogram > 0]
    return {
        "classes_covered": int((histogram >= threshold).sum()),
        "kl_to_uniform": float(math.log(NUM_CLASSES) + np.sum(nonzero * np.log(nonzero))),
        "class_histogram": [float(h) for h in histogram],
    }
