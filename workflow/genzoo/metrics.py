"""Scores on the feature classifier's outputs, in float64 numpy.

FID, KID, classifier Inception Score, precision/recall, density/coverage and class coverage, each a small
function over features (or class probabilities) of a real and a generated sample.
"""

import math

import numpy as np

from .data import NUM_CLASSES


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


def polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the KID kernel."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def kernel_inception_distance(
    features_real: np.ndarray, features_fake: np.ndarray, subsets: int, subset_size: int, seed: int
) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel: mean and std over random subsets of both sets."""
    if subset_size > min(len(features_real), len(features_fake)):
        sizes = f"{len(features_real)}, {len(features_fake)}"
        raise ValueError(f"KID subset size {subset_size} exceeds the sample sizes {sizes}")
    rng = np.random.default_rng(seed)
    real_masks = np.zeros((subsets, len(features_real)))
    fake_masks = np.zeros((subsets, len(features_fake)))
    for index in range(subsets):
        real_masks[index, rng.choice(len(features_real), subset_size, replace=False)] = 1.0
        fake_masks[index, rng.choice(len(features_fake), subset_size, replace=False)] = 1.0

    def subset_sums(masks_a, kernel, masks_b):
        """Sum of the kernel over each subset pair, as matrix products instead of gathering submatrices."""
        return ((masks_a @ kernel) * masks_b).sum(1)

    k_rr = polynomial_kernel(features_real, features_real)
    k_ff = polynomial_kernel(features_fake, features_fake)
    m = subset_size
    within = (
        subset_sums(real_masks, k_rr, real_masks)
        - real_masks @ np.diag(k_rr)
        + subset_sums(fake_masks, k_ff, fake_masks)
        - fake_masks @ np.diag(k_ff)
    ) / (m * (m - 1))
    across = subset_sums(real_masks, polynomial_kernel(features_real, features_fake), fake_masks) / (m * m)
    values = within - 2 * across
    return float(np.mean(values)), float(np.std(values))


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with the feature classifier's class probabilities, over the whole sample."""
    marginal = probs.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(probs > 0, probs * (np.log(probs) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    """Distance of each point to its k-th nearest other point of the same set."""
    distances = pairwise_distances(features, features)
    return np.partition(distances, k, axis=1)[:, k]  # column 0 is the point itself


def precision_recall(features_real: np.ndarray, features_fake: np.ndarray, k: int = 3) -> dict:
    """Kynkaanniemi et al. 2019: the share of fakes inside the real k-NN manifold, and vice versa."""
    cross = pairwise_distances(features_real, features_fake)
    real_radii, fake_radii = kth_neighbour_radii(features_real, k), kth_neighbour_radii(features_fake, k)
    return {
        "precision": float((cross <= real_radii[:, None]).any(0).mean()),
        "recall": float((cross <= fake_radii[None, :]).any(1).mean()),
    }


def density_coverage(features_real: np.ndarray, features_fake: np.ndarray, k: int = 5) -> dict:
    """Naeem et al. 2020: how many real k-NN balls hold each fake (/k), and the share of real balls hit."""
    inside = pairwise_distances(features_real, features_fake) <= kth_neighbour_radii(features_real, k)[:, None]
    return {
        "density": float(inside.sum() / (k * features_fake.shape[0])),
        "coverage": float(inside.any(1).mean()),
    }


PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5


def score_settings(evaluation: dict, n: int) -> dict:
    """What fixes the scores of an n-image sample: sizes, seed and each score's parameters, recorded with them."""
    return {
        "n_generated": n,
        "n_real": n,
        "seed": evaluation["seed"],
        "kid_subsets": evaluation["kid_subsets"],
        "kid_subset_size": min(evaluation["kid_subset_size"], n),
        "precision_recall_k": PRECISION_RECALL_K,
        "density_coverage_k": DENSITY_COVERAGE_K,
        "coverage_threshold": evaluation["coverage_threshold"],
    }


def sample_scores(real_features: np.ndarray, fake_features: np.ndarray, fake_probs: np.ndarray, settings: dict) -> dict:
    """Every score of a generated sample against a real one, under score_settings(...)."""
    kid_mean, kid_std = kernel_inception_distance(
        real_features, fake_features, settings["kid_subsets"], settings["kid_subset_size"], settings["seed"]
    )
    return {
        "fid": frechet_distance(real_features, fake_features),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "inception_score": inception_score(fake_probs),
        **precision_recall(real_features, fake_features, settings["precision_recall_k"]),
        **density_coverage(real_features, fake_features, settings["density_coverage_k"]),
        **class_coverage(fake_probs, settings["coverage_threshold"]),
    }
