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


class KidPlan(NamedTuple):
    """The seeded subset pairs of a KID, whether kernels over the whole sets are the cheaper way to sum them, and
    what the pairs were drawn for: (n_real, n_fake, subsets, subset_size, seed)."""

    drawn: list[tuple[np.ndarray, np.ndarray]]
    whole_sets: bool
    drawn_for: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)


def kid_plan(n_real: int, n_fake: int, dim: int, subsets: int, subset_size: int, seed: int) -> KidPlan:
    if subset_size > min(n_real, n_fake):
        raise ValueError(f"KID subset size {subset_size} exceeds the sample sizes {n_real}, {n_fake}")
    rng = np.random.default_rng(seed)
    drawn = [(rng.choice(n_real, subset_size, replace=False), rng.choice(n_fake, subset_size, replace=False))
             for _ in range(subsets)]  # fmt: skip
    # Kernels over the whole sets cost about (n_real + n_fake)^2 (d + subsets) multiply-adds, each subset's own
    # kernels 3 subsets m^2 d: the first is 11x faster at 1,000 images per side, the second 10x at 10,000.
    whole_sets = (n_real + n_fake) ** 2 * (dim + subsets) <= 3 * subsets * subset_size**2 * dim
    return KidPlan(drawn, whole_sets, (n_real, n_fake, subsets, subset_size, seed))


def subset_masks(drawn: list, side: int, n: int, device) -> torch.Tensor:
    """One row per subset pair, 1 where the pair's subset of one side (0: real, 1: fake) holds the image."""
    masks = torch.zeros(len(drawn), n, dtype=torch.float64, device=device)
    for index, pair in enumerate(drawn):
        masks[index, torch.as_tensor(pair[side])] = 1.0
    return masks


def kernel_sums_within(features, plan: KidPlan, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per subset pair, of one side's subset (0: real, 1: fake): the sum of k(x, y) over all its x, y, and over its
    x = y alone (their difference is the unbiased estimate's within-set sum).

    The real side's are the same for every generated sample scored under the plan: an evaluate job takes them
    once (RealSample.kid_real_sums), a third of the KID's kernels."""
    features = as_float64(features)
    if plan.whole_sets:
        masks = subset_masks(plan.drawn, side, len(features), features.device)
        kernel = polynomial_kernel(features, features)
        return ((masks @ kernel) * masks).sum(1), masks @ kernel.diagonal()
    totals, diagonals = [], []
    for pair in plan.drawn:  # one subset's kernel at a time (8 MB each at 1,000 images)
        kernel = polynomial_kernel(features[pair[side]], features[pair[side]])
        totals.append(kernel.sum())
        diagonals.append(kernel.trace())
    return torch.stack(totals), torch.stack(diagonals)


def kernel_sums_across(features_real, features_fake, plan: KidPlan) -> torch.Tensor:
    """Per subset pair: the sum of k(x, y) over x in its real subset and y in its fake one."""
    if plan.whole_sets:
        real_masks = subset_masks(plan.drawn, 0, len(features_real), features_real.device)
        fake_masks = subset_masks(plan.drawn, 1, len(features_fake), features_fake.device)
        return ((real_masks @ polynomial_kernel(features_real, features_fake)) * fake_masks).sum(1)
    return torch.stack([polynomial_kernel(features_real[r], features_fake[f]).sum() for r, f in plan.drawn])


def kid_real_sums(features_real, plan: KidPlan) -> torch.Tensor:
    """The real subsets' within-set kernel sums of the plan's pairs (distinct x, y)."""
    totals, diagonals = kernel_sums_within(features_real, plan, 0)
    return totals - diagonals


def kid_from_plan(features_real, features_fake, plan: KidPlan, real_sums: torch.Tensor | None = None) -> tuple:
    """Unbiased MMD^2 of every subset pair of the plan: mean and std. real_sums: kid_real_sums, when taken once for
    many generated samples."""
    features_real, features_fake = as_float64(features_real), as_float64(features_fake)
    if real_sums is None:
        real_sums = kid_real_sums(features_real, plan)
    fake_totals, fake_diagonals = kernel_sums_within(features_fake, plan, 1)
    m = len(plan.drawn[0][0])
    within = (real_sums + fake_totals - fake_diagonals) / (m * (m - 1))
    values = within - 2 * kernel_sums_across(features_real, features_fake, plan) / (m * m)
    return float(values.mean()), float(values.std(correction=0))


def kernel_inception_distance(features_real, features_fake, subsets: int, subset_size: int, seed: int) -> tuple:
    """Unbiased MMD^2 with the cubic polynomial kernel: mean and std over random subsets of both sets."""
    features_real, features_fake = as_float64(features_real), as_float64(features_fake)
    plan = kid_plan(len(features_real), len(features_fake), features_real.shape[1], subsets, subset_size, seed)
    return kid_from_plan(features_real, features_fake, plan)


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


# Distances are taken a block of rows at a time: at 10,000 images a side a whole matrix is 800 MB of float64,
# and the neighbour search and comparisons would make several. A block's distances are those of the whole matrix's
# product at the sizes measured (10,000 and 2,500 rows, on the CPU); a block of another height can differ from them
# in the last bit (BLAS kernels chosen by shape), which moves a count only at an exact tie of radius and distance.
ROWS_PER_BLOCK = 1024


def distance_blocks(a: torch.Tensor, b: torch.Tensor, rows: int):
    """(row slice of a, distances of those rows to every row of b), ROWS_PER_BLOCK rows at a time."""
    for start in range(0, len(a), rows):
        block = slice(start, start + rows)
        yield block, pairwise_distances(a[block], b)


def kth_neighbour_radii(features, ks: list[int], rows: int = ROWS_PER_BLOCK) -> dict[int, torch.Tensor]:
    """Distance of each point to its k-th nearest other point of the same set, for each k in ks."""
    features = as_float64(features)
    nearest = torch.cat(  # column 0 is the point itself
        [
            distances.topk(max(ks) + 1, dim=1, largest=False).values
            for _, distances in distance_blocks(features, features, rows)
        ]
    )
    return {k: nearest[:, k].clone() for k in ks}


class RealSample(NamedTuple):
    """The real images' features, with what the scores need of them alone, done once per job, not per checkpoint:
    their k-th neighbour radii for each k of precision/recall and density/coverage (an n x n distance search), and,
    from real_side, the KID's subset pairs and the real subsets' kernel sums."""

    features: torch.Tensor
    radii: dict[int, torch.Tensor]
    kid_plan: KidPlan | None = None
    kid_real_sums: torch.Tensor | None = None


def real_sample(features, ks: list[int]) -> RealSample:
    features = as_float64(features)
    return RealSample(features, kth_neighbour_radii(features, sorted(set(ks))))


def manifold_scores(real, features_fake, k_pr: int = 3, k_dc: int = 5, rows: int = ROWS_PER_BLOCK) -> dict:
    """Precision and recall (Kynkaanniemi et al. 2019: the share of fakes inside the real k-NN manifold, and vice
    versa) and density and coverage (Naeem et al. 2020: how many real k-NN balls hold each fake, /k, and the share
    of real balls hit). One pass over the real-to-fake distances, a block of real rows at a time, serves all four.
    real: a RealSample with radii for k_pr and k_dc, or the real features."""
    if not isinstance(real, RealSample):
        real = real_sample(real, [k_pr, k_dc])
    features_fake = as_float64(features_fake).to(real.features.device)
    fake_radii = kth_neighbour_radii(features_fake, [k_pr], rows)[k_pr]
    fakes_inside_real = torch.zeros(len(features_fake), dtype=torch.bool, device=features_fake.device)
    reals_inside_fake = balls_holding_fakes = fakes_in_balls = 0
    for block, cross in distance_blocks(real.features, features_fake, rows):
        fakes_inside_real |= (cross <= real.radii[k_pr][block, None]).any(0)
        reals_inside_fake += int((cross <= fake_radii[None, :]).any(1).sum())
        inside = cross <= real.radii[k_dc][block, None]
        fakes_in_balls += int(inside.sum())
        balls_holding_fakes += int(inside.any(1).sum())
    n_real = len(real.features)
    return {
        "precision": float(fakes_inside_real.double().mean()),
        "recall": reals_inside_fake / n_real,
        "density": fakes_in_balls / (k_dc * len(features_fake)),
        "coverage": balls_holding_fakes / n_real,
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
    real = real_sample(real_features, [settings["precision_recall_k"], settings["density_coverage_k"]])
    plan = kid_plan(
        len(real.features),
        settings["n_generated"],
        real.features.shape[1],
        settings["kid_subsets"],
        settings["kid_subset_size"],
        settings["seed"],
    )
    return real._replace(kid_plan=plan, kid_real_sums=kid_real_sums(real.features, plan))


def sample_scores(real, fake_features, fake_probs, settings: dict) -> dict:
    """Every score of a generated sample against a real one (a RealSample from real_side, or its features), under
    score_settings(...)."""
    if not isinstance(real, RealSample) or real.kid_plan is None:
        real = real_side(real.features if isinstance(real, RealSample) else real, settings)
    fake_features = as_float64(fake_features).to(real.features.device)
    if len(fake_features) != settings["n_generated"]:
        raise ValueError(
            f"{len(fake_features)} generated images scored where the settings say {settings['n_generated']}"
        )
    wanted = (len(real.features), len(fake_features), settings["kid_subsets"], settings["kid_subset_size"])
    if real.kid_plan.drawn_for != (*wanted, settings["seed"]):
        raise ValueError(
            f"the real sample was prepared for KID's (n_real, n_fake, subsets, subset_size, seed) "
            f"{real.kid_plan.drawn_for}, and is scored under {(*wanted, settings['seed'])}: prepare it with real_side "
            "under the same settings"
        )
    kid_mean, kid_std = kid_from_plan(real.features, fake_features, real.kid_plan, real.kid_real_sums)
    return {
        "fid": frechet_distance(real.features, fake_features),
        "kid_mean": kid_mean,
        "kid_std": kid_std,
        "inception_score": inception_score(fake_probs),
        **manifold_scores(real, fake_features, settings["precision_recall_k"], settings["density_coverage_k"]),
        **class_coverage(fake_probs, settings["coverage_threshold"]),
    }
