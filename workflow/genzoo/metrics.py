"""Scores on the feature classifier's outputs, in float64 torch on the features' device (the CPU, or the GPU that
scored them).

FID, KID, classifier Inception Score, precision/recall, density/coverage and class coverage, each a small
function over features (or class probabilities) of a real and a generated sample. They take tensors or arrays;
the real sample's own share of the work is done once per job (RealSample).
"""

import math
from typing import NamedTuple

import numpy as np
import torch

from .data import NUM_CLASSES


def as_float64(values) -> torch.Tensor:
    """A float64 tensor of features or probabilities, on the device it is on (a NumPy array: the CPU)."""
    return torch.as_tensor(values, dtype=torch.float64)


def frechet_distance(features_a, features_b) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), in float64.

    Tr((S_a S_b)^1/2) is taken as the sum of square roots of the eigenvalues of S_a^1/2 S_b S_a^1/2,
    a symmetric PSD matrix, which avoids the complex round-off of a general matrix square root.
    """
    features_a, features_b = as_float64(features_a), as_float64(features_b)
    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a, cov_b = torch.cov(features_a.T), torch.cov(features_b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    middle = torch.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = middle.clamp(min=0).sqrt().sum()
    return float(((mu_a - mu_b) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root)


def class_coverage(probs, threshold: float) -> dict:
    """Predicted-class histogram h; classes with h_c >= threshold count as covered; KL(h || uniform)."""
    probs = as_float64(probs)
    histogram = torch.bincount(probs.argmax(1), minlength=NUM_CLASSES).double() / len(probs)
    nonzero = histogram[histogram > 0]
    return {
        "classes_covered": int((histogram >= threshold).sum()),
        "kl_to_uniform": float(math.log(NUM_CLASSES) + (nonzero * nonzero.log()).sum()),
        "class_histogram": [float(h) for h in histogram],
    }


def polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x.y / d + 1)^3, the KID kernel."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def kernel_inception_distance(features_real, features_fake, subsets: int, subset_size: int, seed: int) -> tuple:
    """Unbiased MMD^2 with the cubic polynomial kernel: mean and std over random subsets of both sets."""
    features_real, features_fake = as_float64(features_real), as_float64(features_fake)
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
        values = torch.stack([mmd_of_subset(features_real[r], features_fake[f]) for r, f in drawn])
    return float(values.mean()), float(values.std(correction=0))


def mmd_of_subset(real, fake) -> torch.Tensor:
    """Unbiased MMD^2 of one pair of equal-sized subsets, from their own kernels."""
    real, fake = as_float64(real), as_float64(fake)
    m = len(real)
    k_rr, k_ff = polynomial_kernel(real, real), polynomial_kernel(fake, fake)
    within = (k_rr.sum() - k_rr.trace() + k_ff.sum() - k_ff.trace()) / (m * (m - 1))
    return within - 2 * polynomial_kernel(real, fake).sum() / (m * m)


def mmd_from_whole_kernels(features_real, features_fake, drawn: list) -> torch.Tensor:
    """Unbiased MMD^2 of every drawn subset pair at once: kernels over the whole sets, subset sums as products."""
    features_real, features_fake = as_float64(features_real), as_float64(features_fake)
    real_masks = torch.zeros(len(drawn), len(features_real), dtype=torch.float64, device=features_real.device)
    fake_masks = torch.zeros(len(drawn), len(features_fake), dtype=torch.float64, device=features_fake.device)
    for index, (real, fake) in enumerate(drawn):
        real_masks[index, torch.as_tensor(real)] = 1.0
        fake_masks[index, torch.as_tensor(fake)] = 1.0

    def subset_sums(masks_a, kernel, masks_b):
        return ((masks_a @ kernel) * masks_b).sum(1)

    k_rr = polynomial_kernel(features_real, features_real)
    k_ff = polynomial_kernel(features_fake, features_fake)
    m = len(drawn[0][0])
    within = (
        subset_sums(real_masks, k_rr, real_masks)
        - real_masks @ k_rr.diagonal()
        + subset_sums(fake_masks, k_ff, fake_masks)
        - fake_masks @ k_ff.diagonal()
    ) / (m * (m - 1))
    across = subset_sums(real_masks, polynomial_kernel(features_real, features_fake), fake_masks) / (m * m)
    return within - 2 * across


def inception_score(probs) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with the feature classifier's class probabilities, over the whole sample."""
    probs = as_float64(probs)
    marginal = probs.mean(0)
    terms = probs * (probs.log() - marginal.log())
    kl = torch.where(probs > 0, terms, torch.zeros_like(terms)).sum(1)  # 0 log 0 = 0
    return float(kl.mean().exp())


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances, (|a|^2 + |b|^2 - 2 a.b) evaluated in place: two n x m matrices at a time, not five."""
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :]
    squared.addmm_(a, b.T, alpha=-2)
    return squared.clamp_(min=0).sqrt_()


def kth_neighbour_radii(features, ks: list[int]) -> dict[int, torch.Tensor]:
    """Distance of each point to its k-th nearest other point of the same set, for each k in ks."""
    features = as_float64(features)
    distances = pairwise_distances(features, features)
    nearest = distances.topk(max(ks) + 1, dim=1, largest=False).values  # column 0 is the point itself
    return {k: nearest[:, k].clone() for k in ks}


class RealSample(NamedTuple):
    """The real images' features, with what the scores need of them alone: their k-th neighbour radii for each k
    of precision/recall and density/coverage (an n x n matrix and a search, done once per job, not per checkpoint)."""

    features: torch.Tensor
    radii: dict[int, torch.Tensor]


def real_sample(features, ks: list[int]) -> RealSample:
    features = as_float64(features)
    return RealSample(features, kth_neighbour_radii(features, sorted(set(ks))))


def manifold_scores(real, features_fake, k_pr: int = 3, k_dc: int = 5) -> dict:
    """Precision and recall (Kynkaanniemi et al. 2019: the share of fakes inside the real k-NN manifold, and vice
    versa) and density and coverage (Naeem et al. 2020: how many real k-NN balls hold each fake, /k, and the share
    of real balls hit). One cross-distance matrix and one neighbour search per set serve all four. real: a
    RealSample with radii for k_pr and k_dc, or the real features."""
    if not isinstance(real, RealSample):
        real = real_sample(real, [k_pr, k_dc])
    features_fake = as_float64(features_fake).to(real.features.device)
    cross = pairwise_distances(real.features, features_fake)
    fake_radii = kth_neighbour_radii(features_fake, [k_pr])[k_pr]
    inside = cross <= real.radii[k_dc][:, None]
    return {
        "precision": float((cross <= real.radii[k_pr][:, None]).any(0).double().mean()),
        "recall": float((cross <= fake_radii[None, :]).any(1).double().mean()),
        "density": int(inside.sum()) / (k_dc * features_fake.shape[0]),
        "coverage": float(inside.any(1).double().mean()),
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


def real_side(real_features, settings: dict) -> RealSample:
    """The real sample, prepared once for every sample_scores call of a job under these score_settings."""
    return real_sample(real_features, [settings["precision_recall_k"], settings["density_coverage_k"]])


def sample_scores(real, fake_features, fake_probs, settings: dict) -> dict:
    """Every score of a generated sample against a real one (a RealSample from real_side, or its features), under
    score_settings(...)."""
    if not isinstance(real, RealSample):
        real = real_side(real, settings)
    fake_features = as_float64(fake_features).to(real.features.device)
    kid_mean, kid_std = kernel_inception_distance(
        real.features, fake_features, settings["kid_subsets"], settings["kid_subset_size"], settings["seed"]
    )
    return {
        "fid": frechet_distance(real.features, fake_features),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "inception_score": inception_score(fake_probs),
        **manifold_scores(real, fake_features, settings["precision_recall_k"], settings["density_coverage_k"]),
        **class_coverage(fake_probs, settings["coverage_threshold"]),
    }
