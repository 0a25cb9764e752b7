import json
import math

import numpy as np
import pytest
import torch
from conftest import resolved_run
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


def test_kid_of_one_distribution_is_about_zero_and_grows_with_a_shift():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(1000, 32)), rng.normal(size=(1000, 32))
    same_mean, same_std = metrics.kernel_inception_distance(a, b, subsets=50, subset_size=400, seed=0)
    shifted, _ = metrics.kernel_inception_distance(a, b + 0.3, subsets=50, subset_size=400, seed=0)
    assert abs(same_mean) < 3 * same_std / math.sqrt(50) + 1e-4
    assert shifted > 100 * abs(same_mean) and shifted > 0.01
    assert metrics.kernel_inception_distance(a, b, 50, 400, seed=0) == (same_mean, same_std)  # seeded subsets


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_fid_and_kid_agree_with_torchmetrics():
    """torchmetrics' FID and KID, fed the features through an identity extractor, give the same numbers."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    class Identity(torch.nn.Module):
        num_features = 16

        def forward(self, x):
            return x

    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(300, 16)), rng.normal(size=(300, 16)) * 1.2 + 0.2
    fid = FrechetInceptionDistance(feature=Identity())
    kid = KernelInceptionDistance(feature=Identity(), subsets=1, subset_size=300)  # one subset: the whole sets
    for metric in (fid, kid):
        metric.update(torch.tensor(real), real=True)
        metric.update(torch.tensor(fake), real=False)
    assert metrics.frechet_distance(real, fake) == pytest.approx(float(fid.compute()), rel=1e-9)
    kid_mean, _ = metrics.kernel_inception_distance(real, fake, subsets=1, subset_size=300, seed=0)
    assert kid_mean == pytest.approx(float(kid.compute()[0]), rel=1e-9)


def test_kid_gives_the_same_values_by_whole_set_kernels_and_by_subset_kernels():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(300, 16)), rng.normal(size=(200, 16)) + 0.3
    drawn = [(rng.choice(300, 50, replace=False), rng.choice(200, 50, replace=False)) for _ in range(20)]
    by_whole = metrics.kid_from_plan(real, fake, metrics.KidPlan(drawn, whole_sets=True))
    by_subsets = metrics.kid_from_plan(real, fake, metrics.KidPlan(drawn, whole_sets=False))
    assert by_whole[0] > 0.01 and by_whole[1] > 0  # a real gap, measured over subsets that differ
    np.testing.assert_allclose(by_whole, by_subsets, rtol=1e-10)


def test_kid_plan_takes_whole_set_kernels_where_they_are_cheaper():
    assert metrics.kid_plan(1000, 1000, 128, 100, 1000, seed=0).whole_sets
    assert not metrics.kid_plan(10000, 10000, 128, 100, 1000, seed=0).whole_sets


def test_kid_refuses_subsets_larger_than_the_samples():
    features = np.zeros((10, 4))
    with pytest.raises(ValueError, match="KID subset size 20 exceeds the sample sizes 10, 10"):
        metrics.kernel_inception_distance(features, features, subsets=1, subset_size=20, seed=0)


def test_inception_score_counts_confident_distinct_classes():
    assert metrics.inception_score(one_hot(list(range(10)) * 5)) == pytest.approx(10.0)
    assert metrics.inception_score(one_hot([4] * 50)) == pytest.approx(1.0)
    assert metrics.inception_score(one_hot([1, 2] * 25)) == pytest.approx(2.0)
    assert metrics.inception_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)  # unsure about every image


def two_clusters(rng, n):
    return np.concatenate([rng.normal(size=(n, 8)), rng.normal(size=(n, 8)) + 20.0])


def precision_recall(real, fake):
    scores = metrics.manifold_scores(real, fake, k_pr=3)
    return {"precision": scores["precision"], "recall": scores["recall"]}


def test_precision_recall_separate_fidelity_from_diversity():
    rng = np.random.default_rng(5)
    real = two_clusters(rng, 500)
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    full = precision_recall(real, two_clusters(rng, 500))  # a fresh sample of the real distribution
    dropped_a_mode = precision_recall(real, rng.normal(size=(1000, 8)))  # all fakes in one of two clusters
    assert full["precision"] > 0.8 and full["recall"] > 0.8
    assert dropped_a_mode["precision"] == pytest.approx(full["precision"], abs=0.05)
    assert dropped_a_mode["recall"] == pytest.approx(full["recall"] / 2, abs=0.05)
    assert precision_recall(real, rng.normal(size=(1000, 8)) + 100.0) == {"precision": 0.0, "recall": 0.0}


def test_density_and_coverage_match_their_expectation_for_one_distribution():
    """Naeem et al.: for fakes from the real distribution, E[density] = 1 and E[coverage] ~ 1 - 2^-k (M = N)."""
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    scores = metrics.manifold_scores(real, fake, k_dc=5)
    assert scores["density"] == pytest.approx(1.0, abs=0.1)
    assert scores["coverage"] == pytest.approx(1 - 0.5**5, abs=0.015)
    collapsed = metrics.manifold_scores(real, np.zeros((2000, 8)), k_dc=5)  # every fake on one point
    assert collapsed["coverage"] < 0.01


def test_sample_scores_name_every_score():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
    settings = metrics.score_settings(
        {"seed": 0, "kid_subsets": 5, "kid_subset_size": 50, "coverage_threshold": 0.05}, 100
    )
    scores = metrics.sample_scores(real, fake, one_hot(list(range(10)) * 10), settings)
    assert set(scores) == {
        "fid", "kid_mean", "kid_std", "inception_score", "precision", "recall", "density", "coverage",
        "classes_covered", "kl_to_uniform", "class_histogram",
    }  # fmt: skip
    assert scores["classes_covered"] == 10 and scores["inception_score"] == pytest.approx(10.0)


@pytest.fixture(scope="module")
def trained_classifier(mnist_5k_splits, tmp_path_factory):
    """A classifier trained for 2 epochs on the embedded digits and its real-vs-real reference at n = 500."""
    from genzoo import real_scores

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
    )
    real = real_scores.real_reference(
        folder / "clf.pt", folder / "clf.json", mnist_5k_splits["train"], mnist_5k_splits["test"],
        folder / "real_scores.json", EVALUATION | {"n_samples": 500},
    )  # fmt: skip
    return {"model": folder / "clf.pt", "info": info, "reference": folder / "real_scores.json", "real": real}


EVALUATION = {"n_samples": 300, "seed": 5, "coverage_threshold": 0.025, "kid_subsets": 20, "kid_subset_size": 100}


def test_classifier_reaches_usable_accuracy_and_records_its_hash(mnist_5k_splits, trained_classifier):
    from genzoo import data, files

    info = trained_classifier["info"]
    assert info["test_accuracy"] > 0.9 and info["test_size"] == 1000
    assert info["sha256"] == files.file_hash(trained_classifier["model"], "sha256")
    images, labels = data.load_split(mnist_5k_splits["test"])
    reloaded = classifier.load_classifier(trained_classifier["model"])
    assert classifier.test_accuracy(reloaded, images, labels) == pytest.approx(info["test_accuracy"])


def test_real_digits_score_as_real_digits(trained_classifier):
    """Training digits against held-out ones: small FID, KID ~ 0, high precision/recall, all ten classes."""
    reference = json.loads(trained_classifier["reference"].read_text())
    scores = reference["scores"]
    assert reference["n_real"] == reference["n_generated"] == 500 and reference["kid_subset_size"] == 100
    # KID is unbiased: for two samples of one distribution its mean is within the spread of its subsets.
    assert 0 <= scores["fid"] < 20 and abs(scores["kid_mean"]) < 2 * scores["kid_std"]
    assert scores["precision"] > 0.6 and scores["recall"] > 0.6 and scores["classes_covered"] == 10
    # Ten roughly equal classes; this 2-epoch classifier is not confident enough for the ~9.9 of full MNIST.
    assert 5 < reference["test_inception_score"] <= 10
    assert reference["classifier_sha256"] == trained_classifier["info"]["sha256"]


def save_untrained_checkpoint(run: dict, folder, seed: int = 0) -> None:
    from genzoo import files, models

    torch.manual_seed(seed)
    nets = models.build(run["architecture"], run["latent_dim"])
    folder.mkdir(parents=True, exist_ok=True)
    files.save_torch(folder / "epoch_0001.pt", {"nets": {k: v.state_dict() for k, v in nets.items()}})


def save_checkpoint_with_average(nets: dict, average, folder) -> None:
    """A checkpoint of nets with average as the moving average of their generator (the role generator_ema)."""
    from genzoo import files

    state = {role: net.state_dict() for role, net in nets.items()} | {"generator_ema": average.state_dict()}
    files.save_torch(folder / "epoch_0001.pt", {"nets": state})


def evaluate(run, checkpoints, trained_classifier, mnist_5k_splits, out, settings=None, device="cpu"):
    from genzoo import evaluation

    evaluation.evaluate_run(
        run, checkpoints, trained_classifier["model"], trained_classifier["reference"], mnist_5k_splits["test"],
        out, out.with_suffix(".csv"), settings or EVALUATION | {"n_samples": 500}, device=device,
    )  # fmt: skip
    return json.loads((out / "epoch_0001.json").read_text())


def test_evaluating_a_checkpoint_twice_gives_identical_scores(mnist_5k_splits, trained_classifier, tmp_path):
    run = resolved_run("pytorch-gan", epochs=1)
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    for attempt in ("a", "b"):
        record = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / attempt)
    assert (tmp_path / "a" / "epoch_0001.json").read_bytes() == (tmp_path / "b" / "epoch_0001.json").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    # Noise from an untrained generator is far from digits on every score, and the record says how it was made.
    real = trained_classifier["real"]["scores"]
    assert record["fid"] > 10 * real["fid"] and record["kid_mean"] > 10 * abs(real["kid_mean"])
    assert record["precision"] < real["precision"] and record["n_generated"] == 500
    assert record["inception_score"] < trained_classifier["real"]["test_inception_score"] / 2
    assert record["kid_subsets"] == 20 and record["precision_recall_k"] == 3 and record["density_coverage_k"] == 5
    assert record["fid_floor"] == real["fid"] and "test_elbo" not in record and "label_accuracy" not in record
    assert record["scored_on"] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="scoring on a GPU needs one")
@pytest.mark.parametrize("preset", ["pytorch-gan", "dlwp-vae", "pytorch-cgan"])
def test_scores_made_on_a_gpu_agree_with_the_cpus(preset, mnist_5k_splits, trained_classifier, tmp_path):
    run = resolved_run(preset, epochs=1)
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    cpu = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "cpu")
    gpu = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "gpu", device="cuda")
    assert (cpu["scored_on"], gpu["scored_on"]) == ("cpu", "cuda")
    for key in ("fid", "kid_mean", "inception_score", "kl_to_uniform", "test_elbo"):
        if key in cpu:
            assert gpu[key] == pytest.approx(cpu[key], rel=1e-4, abs=1e-6), key
    for key in ("precision", "recall", "density", "coverage", "label_accuracy"):  # counts: a borderline point may flip
        if key in cpu:
            assert gpu[key] == pytest.approx(cpu[key], abs=0.01), key
    assert gpu["classes_covered"] == cpu["classes_covered"]


def test_vae_checkpoints_also_get_held_out_elbo_and_reconstruction_error(mnist_5k_splits, trained_classifier, tmp_path):
    run = resolved_run("dlwp-vae", epochs=1)
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    record = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "scores")
    # An untrained decoder outputs ~0.5 everywhere: BCE ~ 784 log 2 per image, squared error ~ E[(x - 0.5)^2].
    assert record["test_reconstruction_bce"] == pytest.approx(784 * math.log(2), rel=0.1)
    assert 0.1 < record["test_reconstruction_mse"] < 0.25
    assert record["test_elbo"] == pytest.approx(-(record["test_reconstruction_bce"] + record["test_kl"]), rel=1e-6)
    assert record["test_kl"] >= 0


def test_32px_generators_are_scored_at_28px(mnist_5k_splits, trained_classifier, tmp_path):
    from genzoo import evaluation

    run = resolved_run("pytorch-dcgan", epochs=1)
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    generator = evaluation.load_generator(run, tmp_path / "ckpt" / "epoch_0001.pt")
    images = evaluation.generated_images(generator, run, 7, seed=0)
    assert images.shape == (7, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    record = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "scores")
    assert math.isfinite(record["fid"]) and record["n_generated"] == 500


def test_a_conditional_generator_is_asked_for_every_class_and_scored_on_them(
    mnist_5k_splits, trained_classifier, tmp_path
):
    from genzoo import evaluation

    class LabelAsBrightness(torch.nn.Module):
        def forward(self, z, labels):
            return (labels.float() / 9 * 2 - 1).view(-1, 1, 1, 1).expand(-1, 1, 32, 32)

    run = resolved_run("pytorch-cgan", epochs=1)
    images = evaluation.generated_images(LabelAsBrightness(), run, 25, seed=0)
    brightness = (images.mean((1, 2, 3)) * 9).round().long()
    assert brightness.tolist() == [k % 10 for k in range(25)]
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    record = evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "scores")
    assert 0 <= record["label_accuracy"] <= 1
    # A moving average of the generator is asked for the same labels and scored on them too.
    from genzoo import models
    from torch.optim import swa_utils

    run = resolved_run("pytorch-cgan", epochs=1, ema=0.999)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    save_checkpoint_with_average(nets, swa_utils.AveragedModel(nets["generator"], use_buffers=True), tmp_path / "ema")
    record = evaluate(run, tmp_path / "ema", trained_classifier, mnist_5k_splits, tmp_path / "scores-ema")
    assert record["ema_label_accuracy"] == record["label_accuracy"]  # the average equals the generator here


def test_scores_refuse_a_reference_made_with_other_settings(mnist_5k_splits, trained_classifier, tmp_path):
    run = resolved_run("pytorch-gan", epochs=1)
    save_untrained_checkpoint(run, tmp_path / "ckpt")
    other = EVALUATION | {"n_samples": 500, "kid_subsets": 7}
    with pytest.raises(ValueError, match=r"real_scores.json was made with other evaluation settings \(kid_subsets\)"):
        evaluate(run, tmp_path / "ckpt", trained_classifier, mnist_5k_splits, tmp_path / "x", other)


def test_a_classifier_below_its_floor_fails_naming_the_key_and_saves_nothing(
    first_train_images, mnist_5k_splits, tmp_path
):
    with pytest.raises(
        ValueError, match=r"test accuracy .*% on .* is below the floor of 99\.90% \(datasets\.d\.floor\)"
    ):
        classifier.train_classifier(
            first_train_images(256), mnist_5k_splits["test"], tmp_path / "c.pt", tmp_path / "c.json",
            epochs=1, batch_size=64, lr=1e-3, seed=0, min_accuracy=0.999, floor_key="datasets.d.floor",
        )  # fmt: skip
    assert not (tmp_path / "c.pt").exists() and not (tmp_path / "c.json").exists()


def pin(trained_classifier, mnist_5k_splits, out, **overrides):
    from genzoo import files

    arguments = {
        "source": trained_classifier["model"],
        "sha256": files.file_hash(trained_classifier["model"]),
        "test_path": mnist_5k_splits["test"],
        "model_path": out / "c.pt",
        "info_path": out / "c.json",
        "floor_key": "datasets.d.min_classifier_accuracy",
        "key": "datasets.d.classifier",
    }
    return classifier.use_pinned_classifier(**(arguments | overrides))


def test_a_pinned_classifier_is_taken_byte_for_byte_with_its_accuracy_measured_here(
    mnist_5k_splits, trained_classifier, tmp_path
):
    info = pin(trained_classifier, mnist_5k_splits, tmp_path, min_accuracy=0.9)
    assert (tmp_path / "c.pt").read_bytes() == trained_classifier["model"].read_bytes()
    assert json.loads((tmp_path / "c.json").read_text()) == info
    assert info["sha256"] == trained_classifier["info"]["sha256"]
    assert info["test_accuracy"] == trained_classifier["info"]["test_accuracy"] and info["test_size"] == 1000
    assert info["pinned_from"] == "clf.pt"  # its name, not a path of this machine


def test_a_pinned_classifier_of_another_hash_is_refused_naming_both_and_nothing_is_written(
    mnist_5k_splits, trained_classifier, tmp_path
):
    from genzoo import files

    found = files.file_hash(trained_classifier["model"])
    with pytest.raises(
        ValueError,
        match=rf"datasets\.d\.classifier\.sha256: .*clf\.pt has SHA-256 {found}, but the config pins {'0' * 64}",
    ):
        pin(trained_classifier, mnist_5k_splits, tmp_path, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_a_pinned_file_that_is_no_classifier_is_refused(mnist_5k_splits, trained_classifier, tmp_path):
    from genzoo import files

    foreign = tmp_path / "foreign.pt"
    files.save_torch(foreign, {"weight": torch.zeros(3)})
    with pytest.raises(ValueError, match=r"foreign\.pt \(datasets\.d\.classifier\.file\) is not a classifier"):
        pin(trained_classifier, mnist_5k_splits, tmp_path, source=foreign, sha256=files.file_hash(foreign))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["foreign.pt"]


def test_a_pinned_file_of_weights_that_are_no_state_dict_is_refused(mnist_5k_splits, trained_classifier, tmp_path):
    from genzoo import files

    foreign = tmp_path / "list.pt"
    files.save_torch(foreign, [torch.zeros(3)])
    with pytest.raises(
        ValueError, match=r"list\.pt \(datasets\.d\.classifier\.file\) is not a classifier .* holds a list"
    ):
        pin(trained_classifier, mnist_5k_splits, tmp_path, source=foreign, sha256=files.file_hash(foreign))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["list.pt"]


def test_a_pinned_classifier_below_the_floor_is_refused_naming_both_keys(mnist_5k_splits, trained_classifier, tmp_path):
    with pytest.raises(
        ValueError,
        match=r"below the floor of 99\.99% \(datasets\.d\.min_classifier_accuracy\).*pin another "
        r"\(datasets\.d\.classifier\)",
    ):
        pin(trained_classifier, mnist_5k_splits, tmp_path, min_accuracy=0.9999)
    assert list(tmp_path.iterdir()) == []


def test_a_classifier_whose_loss_diverges_stops_and_points_at_the_data(first_train_images, mnist_5k_splits, tmp_path):
    with pytest.raises(FloatingPointError, match=r"classifier: loss is (nan|inf) at epoch 1 on .*suspect the data"):
        classifier.train_classifier(
            first_train_images(256), mnist_5k_splits["test"], tmp_path / "c.pt", tmp_path / "c.json",
            epochs=1, batch_size=64, lr=1e30, seed=0,
        )  # fmt: skip
    assert not (tmp_path / "c.pt").exists()


def test_scoring_more_images_than_there_are_is_refused_naming_the_key(mnist_5k_splits, trained_classifier, tmp_path):
    from genzoo import real_scores

    model = trained_classifier["model"]
    settings = {"n_samples": 5000, "seed": 0, "kid_subsets": 10, "kid_subset_size": 100, "coverage_threshold": 0.025}
    with pytest.raises(ValueError, match=r"evaluation\.n_samples 5000 exceeds the 1000 test and 4000 training images"):
        real_scores.real_reference(
            model, model.with_suffix(".json"), mnist_5k_splits["train"], mnist_5k_splits["test"],
            tmp_path / "real.json", settings,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"evaluation\.kid_subset_size 500 exceeds the 200 images scored"):
        metrics.score_settings({**settings, "kid_subset_size": 500}, 200)


def test_a_damaged_checkpoint_says_how_to_train_the_run_again(tmp_path):
    from genzoo import evaluation, files

    run = resolved_run("pytorch-gan", epochs=1)
    checkpoints = tmp_path / "runs" / "r" / "checkpoints"
    save_untrained_checkpoint(run, checkpoints)
    path = checkpoints / "epoch_0001.pt"
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(
        files.CheckpointError, match=rf"cannot load .*; to train the run again, delete {tmp_path / 'runs' / 'r'} and"
    ):
        evaluation.load_generator(run, path)
    save_untrained_checkpoint(resolved_run("cs231n-gan", epochs=1), checkpoints)  # another run's networks
    mismatch = "(?s)not a generator checkpoint of run r .*; to train the run again"
    with pytest.raises(files.CheckpointError, match=mismatch):
        evaluation.load_generator(run, path)


def test_an_ema_run_scores_its_averaged_generator_beside_the_generator(mnist_5k_splits, trained_classifier, tmp_path):
    """The same noise through both: an average equal to the generator scores the same, another one differently;
    a checkpoint without the average says so."""
    from genzoo import files, models
    from torch.optim import swa_utils

    run = resolved_run("pytorch-gan", epochs=1, ema=0.999)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    same = swa_utils.AveragedModel(nets["generator"], use_buffers=True)
    torch.manual_seed(1)
    other = swa_utils.AveragedModel(models.build(run["architecture"], 100)["generator"], use_buffers=True)
    for name, average in (("same", same), ("other", other)):
        save_checkpoint_with_average(nets, average, tmp_path / name)
        record = evaluate(run, tmp_path / name, trained_classifier, mnist_5k_splits, tmp_path / f"scores-{name}")
        assert (record["ema_fid"] == record["fid"]) == (name == "same")
        assert {"ema_kid_mean", "ema_classes_covered", "ema_class_histogram"} <= set(record)
    csv_columns = (tmp_path / "scores-other.csv").read_text().splitlines()[0].split(",")
    assert "ema_fid" in csv_columns and "ema_class_histogram" not in csv_columns
    save_untrained_checkpoint(run, tmp_path / "plain")
    with pytest.raises(files.CheckpointError, match=r"epoch_0001\.pt: no moving average of run r's generator"):
        evaluate(run, tmp_path / "plain", trained_classifier, mnist_5k_splits, tmp_path / "scores-plain")


def brute_force_manifold_scores(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict:
    """The four k-NN scores straight from their definitions, point by point."""

    def radius(points, index, k):  # distance to the k-th nearest other point
        return sorted(np.linalg.norm(points - points[index], axis=1))[k]

    def within(point, centres, radii):
        return [np.linalg.norm(point - centre) <= r for centre, r in zip(centres, radii, strict=True)]

    real_pr = [radius(real, i, k_pr) for i in range(len(real))]
    real_dc = [radius(real, i, k_dc) for i in range(len(real))]
    fake_pr = [radius(fake, j, k_pr) for j in range(len(fake))]
    return {
        "precision": np.mean([any(within(f, real, real_pr)) for f in fake]),
        "recall": np.mean([any(within(r, fake, fake_pr)) for r in real]),
        "density": sum(sum(within(f, real, real_dc)) for f in fake) / (k_dc * len(fake)),
        "coverage": np.mean([any(within(r, fake, [real_dc[i]] * len(fake))) for i, r in enumerate(real)]),
    }


def test_scores_with_the_real_side_prepared_once_follow_the_definitions():
    """An evaluate job prepares the real sample once (its neighbour radii) and scores every checkpoint against it."""
    rng = np.random.default_rng(8)
    real, fake = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) * 1.3 + 0.3
    settings = metrics.score_settings(
        {"seed": 0, "kid_subsets": 5, "kid_subset_size": 20, "coverage_threshold": 0.05}, 50
    )
    scores = metrics.sample_scores(metrics.real_side(real, settings), fake, one_hot(list(range(10)) * 5), settings)
    expected = brute_force_manifold_scores(real, fake, settings["precision_recall_k"], settings["density_coverage_k"])
    assert {key: scores[key] for key in expected} == pytest.approx(expected, abs=1e-12)
    assert 0 < expected["precision"] < 1 and 0 < expected["coverage"] < 1  # neither all nor nothing


def test_scores_taken_a_block_of_rows_at_a_time_equal_the_definitions_at_every_block_size():
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) * 1.3 + 0.3
    expected = brute_force_manifold_scores(real, fake, k_pr=3, k_dc=5)
    for rows in (1, 7, 64, 1000):  # one row, blocks with a remainder, one block
        assert metrics.manifold_scores(real, fake, 3, 5, rows=rows) == pytest.approx(expected, abs=1e-12)
        radii = metrics.kth_neighbour_radii(real, [3], rows=rows)[3]
        torch.testing.assert_close(radii, metrics.kth_neighbour_radii(real, [3], rows=len(real))[3], rtol=0, atol=1e-12)


def test_a_job_takes_the_real_subsets_kernels_once_and_gets_the_kid_of_a_fresh_computation():
    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(400, 8)), rng.normal(size=(400, 8)) + 0.2
    probs = one_hot(list(range(10)) * 40)
    for subset_size in (100, 400):  # both ways of summing the kernels (kid_plan chooses by cost)
        settings = metrics.score_settings(
            {"seed": 3, "kid_subsets": 10, "kid_subset_size": subset_size, "coverage_threshold": 0.05}, 400
        )
        prepared = metrics.real_side(real, settings)
        assert prepared.kid_plan.whole_sets == (subset_size == 400)
        scores = metrics.sample_scores(prepared, fake, probs, settings)
        fresh = metrics.kernel_inception_distance(real, fake, 10, subset_size, seed=3)
        assert (scores["kid_mean"], scores["kid_std"]) == fresh and fresh[0] > 0.001
        with pytest.raises(ValueError, match="399 generated images scored where the settings say 400"):
            metrics.sample_scores(prepared, fake[:399], probs[:399], settings)
        with pytest.raises(ValueError, match=r"prepared for KID's .* \(400, 400, 10, \d+, 3\), and is scored under"):
            metrics.sample_scores(prepared, fake, probs, {**settings, "seed": 4})  # its subsets were drawn for seed 3


def test_neighbour_radii_are_the_kth_nearest_other_point():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    radii = metrics.kth_neighbour_radii(points, [1, 2])
    assert radii[1].tolist() == [1.0, 1.0, 2.0, 4.0] and radii[2].tolist() == [3.0, 2.0, 3.0, 6.0]
