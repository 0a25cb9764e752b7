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
    n_real, n_fake = len(features_real), len(features_fake)
    if subset_size > min(n_real, n_fake):
        raise ValueError(f"KID subset size {subset_size} exceeds the sample sizes {n_real}, {n_fake}")
    rng = np.random.default_rng(seed)
    drawn = [(rng.choice(n_real, subset_size, replace=False), rng.choice(n_fake, subset_size, replace=False))
             for _ in range(subsets)]  # fmt: skip
    # Kernels over the whole sets cost about (n_real + n_fake)^2 (d + subsets) multiply-adds, each subset's own
    # kernels 3 subsets m^2 d: the first is 11x faster at 1,000 images per side, the second 10x at 10,000.
    whole_sets = (n_real + n_fake) ** 2 * (features_real.shape[1] + subsets)
    if whole_sets <= 3 * subsets * subset_size**2 * features_real.shape[1]:
        values = mmd_from_whole_kernels(features_real, features_fake, drawn)
    else:
        values = np.array([mmd_of_subset(features_real[r], features_fake[f]) for r, f in drawn])
    return float(np.mean(values)), float(np.std(values))


def mmd_of_subset(real: np.ndarray, fake: np.ndarray) -> float:
    """Unbiased MMD^2 of one pair of equal-sized subsets, from their own kernels."""
    m = len(real)
    k_rr, k_ff = polynomial_kernel(real, real), polynomial_kernel(fake, fake)
    within = (k_rr.sum() - np.trace(k_rr) + k_ff.sum() - np.trace(k_ff)) / (m * (m - 1))
    return within - 2 * polynomial_kernel(real, fake).sum() / (m * m)


def mmd_from_whole_kernels(features_real: np.ndarray, features_fake: np.ndarray, drawn: list) -> np.ndarray:
    """Unbiased MMD^2 of every drawn subset pair at once: kernels over the whole sets, subset sums as products."""
    real_masks = np.zeros((len(drawn), len(features_real)))
    fake_masks = np.zeros((len(drawn), len(features_fake)))
    for index, (real, fake) in enumerate(drawn):
        real_masks[index, real] = 1.0
        fake_masks[index, fake] = 1.0

    def subset_sums(masks_a, kernel, masks_b):
        return ((masks_a @ kernel) * masks_b).sum(1)

    k_rr = polynomial_kernel(features_real, features_real)
    k_ff = polynomial_kernel(features_fake, features_fake)
    m = len(drawn[0][0])
    within = (
        subset_sums(real_masks, k_rr, real_masks)
        - real_masks @ np.diag(k_rr)
        + subset_sums(fake_masks, k_ff, fake_masks)
        - fake_masks @ np.diag(k_ff)
    ) / (m * (m - 1))
    across = subset_sums(real_masks, polynomial_kernel(features_real, features_fake), fake_masks) / (m * m)
    return within - 2 * across


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with the feature classifier's class probabilities, over the whole sample."""
    marginal = probs.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(probs > 0, probs * (np.log(probs) - np.log(marginal)), 0.0).sum(1)
    return float(np.exp(kl.mean()))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances, (|a|^2 + |b|^2 - 2 a.b) evaluated in place: two n x m matrices at a time, not five."""
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :]
    products = a @ b.T
    products *= 2
    squared -= products
    del products
    np.clip(squared, 0, None, out=squared)
    return np.sqrt(squared, out=squared)


def kth_neighbour_radii(features: np.ndarray, ks: list[int]) -> dict[int, np.ndarray]:
    """Distance of each point to its k-th nearest other point of the same set, for each k in ks."""
    distances = pairwise_distances(features, features)
    ordered = np.partition(distances, ks, axis=1)  # column 0 is the point itself
    return {k: ordered[:, k] for k in ks}


def manifold_scores(features_real: np.ndarray, features_fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Precision and recall (Kynkaanniemi et al. 2019: the share of fakes inside the real k-NN manifold, and vice
    versa) and density and coverage (Naeem et al. 2020: how many real k-NN balls hold each fake, /k, and the share
    of real balls hit). One cross-distance matrix and one neighbour search per set serve all four."""
    cross = pairwise_distances(features_real, features_fake)
    real_radii = kth_neighbour_radii(features_real, sorted({k_pr, k_dc}))
    fake_radii = kth_neighbour_radii(features_fake, [k_pr])[k_pr]
    inside = cross <= real_radii[k_dc][:, None]
    return {
        "precision": float((cross <= real_radii[k_pr][:, None]).any(0).mean()),
        "recall": float((cross <= fake_radii[None, :]).any(1).mean()),
        "density": float(inside.sum() / (k_dc * features_fake.shape[0])),
        "coverage": float(inside.any(1).mean()),
    }


PRECISION_RECALL_K = 3
DENSITY_COVERAGE_K = 5


def score_settings(evaluation: dict, n: int) -> dict:
    """What fixes the scores of an n-image sample: sizes, seed and each score's parameters, recorded with them."""
    if evaluation["kid_subset_size"] > n:
        raise ValueError(
            f"evaluation.kid_subset_size {evaluation['kid_subset_size']} exceeds the {n} images scored "
            f"(evaluation.n_samples); set it to at most {n}"
        )
    return {
        "n_generated": n,
        "n_real": n,
        "seed": evaluation["seed"],
        "kid_subsets": evaluation["kid_subsets"],
        "kid_subset_size": evaluation["kid_subset_size"],
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
        **manifold_scores(real_features, fake_features, settings["precision_recall_k"], settings["density_coverage_k"]),
        **class_coverage(fake_probs, settings["coverage_threshold"]),
    }
