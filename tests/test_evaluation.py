import math

import numpy as np
import pytest
import torch
from genzoo import classifier, metrics


def test_fid_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_fid_matches_the_closed_form_for_gaussians():
    """For diagonal covariances FID = |mu_a - mu_b|^2 + sum (sigma_a - sigma_b)^2."""
    rng = np.random.default_rng(1)
    sigma_a, sigma_b = np.linspace(0.5, 2.0, 8), np.linspace(1.5, 0.7, 8)
    mu_b = np.full(8, 0.5)
    a = rng.normal(size=(200_000, 8)) * sigma_a
    b = rng.normal(size=(200_000, 8)) * sigma_b + mu_b
    expected = np.sum(mu_b**2) + np.sum((sigma_a - sigma_b) ** 2)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_fid_is_symmetric_and_grows_with_the_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    near, far = metrics.frechet_distance(a, b + 0.5), metrics.frechet_distance(a, b + 2.0)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-9)
    assert near == pytest.approx(4 * 0.25, rel=0.1) and far == pytest.approx(4 * 4.0, rel=0.05)


def one_hot(classes: list[int]) -> np.ndarray:
    return np.eye(10)[classes]


def test_coverage_of_a_uniform_sample_is_complete():
    scores = metrics.class_coverage(one_hot(list(range(10)) * 10), threshold=0.05)
    assert scores["classes_covered"] == 10
    assert scores["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_coverage_of_a_collapsed_sample_is_one_class():
    scores = metrics.class_coverage(one_hot([3] * 100), threshold=0.05)
    assert scores["classes_covered"] == 1
    assert scores["kl_to_uniform"] == pytest.approx(math.log(10))
    assert scores["class_histogram"][3] == 1.0


def test_coverage_threshold_is_inclusive():
    scores = metrics.class_coverage(one_hot([0] * 95 + [1] * 5), threshold=0.05)
    assert scores["classes_covered"] == 2


def test_random_shift_moves_pixels_without_wrapping():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 0, 0] = 1.0
    shifted = [classifier.random_shift(image, 2, torch.Generator().manual_seed(s)) for s in range(20)]
    assert all(s.shape == image.shape and s.sum() in (0.0, 1.0) for s in shifted)
    assert any(s[0, 0, 0, 0] == 0.0 for s in shifted)
    assert all(s[0, 0, 27, 27] == 0.0 for s in shifted)  # nothing wraps around the edge


@pytest.fixture(scope="module")
def trained_classifier(mnist_5k_splits, tmp_path_factory):
    """A classifier trained for 2 epochs on the embedded digits: (model path, info path, info)."""
    folder = tmp_path_factory.mktemp("classifier")
    info = classifier.train_classifier(
        train_path=mnist_5k_splits["train"],
        test_path=mnist_5k_splits["test"],
        model_path=folder / "clf.pt",
        info_path=folder / "clf.json",
        epochs=2,
        batch_size=64,
        lr=1e-3,
        seed=0,
        n_samples=500,
    )
    return folder / "clf.pt", folder / "clf.json", info


def test_classifier_reaches_usable_accuracy_and_records_its_hash(mnist_5k_splits, trained_classifier):
    from genzoo import data

    model_path, _, info = trained_classifier
    assert info["test_accuracy"] > 0.9
    assert len(info["sha256"]) == 64 and info["fid_floor_samples"] == 500
    assert math.isfinite(info["fid_floor"]) and info["fid_floor"] >= 0
    images, labels = data.load_split(mnist_5k_splits["test"])
    reloaded = classifier.load_classifier(model_path)
    assert classifier.test_accuracy(reloaded, images, labels) == pytest.approx(info["test_accuracy"])


def test_evaluating_a_checkpoint_twice_gives_identical_scores(mnist_5k_splits, trained_classifier, tmp_path):
    from genzoo import config, evaluation, io, models

    cfg = {"datasets": {"d": {}}, "runs": {"r": {"dataset": "d", "preset": "pytorch-gan", "epochs": 1}}}
    run = config.resolve_run(cfg, "r")
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    (tmp_path / "ckpt").mkdir()
    io.save_torch(tmp_path / "ckpt" / "epoch_0001.pt", {"nets": {k: v.state_dict() for k, v in nets.items()}})
    model_path, info_path, _ = trained_classifier
    for attempt in ("a", "b"):
        evaluation.evaluate_run(
            run, tmp_path / "ckpt", model_path, info_path, mnist_5k_splits["test"],
            tmp_path / attempt, tmp_path / f"{attempt}.csv", n_samples=300, seed=5, coverage_threshold=0.025,
        )  # fmt: skip
    assert (tmp_path / "a" / "epoch_0001.json").read_bytes() == (tmp_path / "b" / "epoch_0001.json").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
