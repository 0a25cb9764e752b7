"""Scores every saved checkpoint of a run with the frozen classifier."""

import json
import logging
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from . import data, files, losses, models, sampling
from .classifier import features_and_probs, scoring_classifier
from .metrics import real_side, sample_scores, score_settings
from .schedule import checkpoint_epochs, checkpoint_file, metrics_file

log = logging.getLogger(__name__)

BATCH = 500


def remedy(checkpoint_path: Path) -> str:
    # The run's folder holds its resume state too: deleting it all retrains the run from scratch.
    return f"to train the run again, delete {Path(checkpoint_path).parent.parent} and run snakemake"


def read_checkpoint(checkpoint_path: Path, remedy_for=remedy) -> dict:
    """The checkpoint's contents (weights only); a file that is not one gets an error that ends in remedy_for(path)."""
    try:
        return files.load_torch(checkpoint_path)
    except files.CheckpointError as error:
        raise files.CheckpointError(f"{error}; {remedy_for(checkpoint_path)}") from error


def load_nets(run: dict, checkpoint_path: Path, roles: tuple[str, ...], remedy_for=remedy) -> dict[str, nn.Module]:
    checkpoint = read_checkpoint(checkpoint_path, remedy_for)
    nets = models.build(run["architecture"], run["latent_dim"])
    try:
        for role in roles:
            nets[role].load_state_dict(checkpoint["nets"][role])
    except (KeyError, RuntimeError, TypeError) as error:
        message = f"{checkpoint_path}: not a {'/'.join(roles)} checkpoint of run {run['name']} ({error}); "
        raise files.CheckpointError(message + remedy_for(checkpoint_path)) from error
    return {role: nets[role].eval() for role in roles}


def load_generator(run: dict, checkpoint_path: Path) -> nn.Module:
    return load_nets(run, checkpoint_path, ("generator",))["generator"]


def load_moving_average(run: dict, checkpoint_path: Path, remedy_for=remedy) -> nn.Module:
    """The checkpoint's moving average of the generator (role generator_ema, saved by an `ema` run), as a plain
    generator: the averaged module's weights without its count of updates."""
    checkpoint = read_checkpoint(checkpoint_path, remedy_for)
    generator = models.build(run["architecture"], run["latent_dim"])["generator"]
    try:
        averaged = checkpoint["nets"]["generator_ema"]
        generator.load_state_dict(
            {key.removeprefix("module."): v for key, v in averaged.items() if key != "n_averaged"}
        )
    except (KeyError, RuntimeError) as error:
        message = f"{checkpoint_path}: no moving average of run {run['name']}'s generator ({error}); "
        raise files.CheckpointError(message + remedy_for(checkpoint_path)) from error
    return generator.eval()


def device_of(net: nn.Module) -> torch.device:
    """Where a network's weights are (the CPU for one without any)."""
    weight = next(net.parameters(), None)
    return torch.device("cpu") if weight is None else weight.device


def device_name(device: torch.device) -> str:
    return f"GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "the CPU"


@torch.no_grad()
def generated_images(generator: nn.Module, run: dict, n: int, seed: int) -> torch.Tensor:
    """n 28-pixel images in [0, 1] from a fixed-seed noise batch, so every checkpoint is scored on the same noise
    (drawn on the CPU, whatever device the generator is on)."""
    noise = sampling.sample_noise(n, run, torch.device("cpu"), torch.Generator().manual_seed(seed))
    noise = noise.to(device_of(generator))
    images = data.to_unit_range(
        generate_in_batches(generator, noise, sampling.cycled_labels(run, n)), run["pixel_range"]
    )
    return data.resized(images, data.IMAGE_SIZE)  # the classifier sees digits at the datasets' own size


@torch.no_grad()
def generate_in_batches(generator: nn.Module, noise: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """sampling.generate over BATCH rows at a time, so that many samples fit in memory."""
    batches = []
    for start in range(0, len(noise), BATCH):
        chunk = slice(start, start + BATCH)
        chunk_labels = None if labels is None else labels[chunk].to(noise.device)
        batches.append(sampling.generate(generator, noise[chunk], chunk_labels))
    return torch.cat(batches)


@torch.no_grad()
def vae_test_scores(encoder: nn.Module, decoder: nn.Module, test_images: torch.Tensor, run: dict, seed: int) -> dict:
    """Held-out ELBO (nats per image, one seeded latent sample each, as in training), its two terms, and the
    mean squared pixel error of that same reconstruction. The ELBO is the true one of the draws the run makes,
    whatever loss it trained on, so VAEs of either edition compare."""
    rng = torch.Generator().manual_seed(seed)
    totals = {"elbo": 0.0, "bce": 0.0, "kl": 0.0, "mse": 0.0}
    for batch in data.from_unit_range(test_images, run["pixel_range"]).split(BATCH):
        z_mean, z_log_var = encoder(batch)
        log_variance = sampling.posterior_log_variance(z_log_var, run["vae_epsilon_scale"])
        epsilon = torch.randn(z_mean.shape, generator=rng).to(z_mean.device)  # the CPU's draws on any device
        z = sampling.latent_sample(z_mean, log_variance, epsilon)
        reconstruction = decoder(z)
        loss, bce, kl = losses.vae_elbo_loss(reconstruction, batch, z_mean, log_variance)
        share = len(batch) / len(test_images)
        totals["elbo"] -= float(loss) * share
        totals["bce"] += float(bce) * share
        totals["kl"] += float(kl) * share
        totals["mse"] += float((reconstruction - batch).square().mean()) * share
    return {
        "test_elbo": totals["elbo"],
        "test_reconstruction_bce": totals["bce"],
        "test_kl": totals["kl"],
        "test_reconstruction_mse": totals["mse"],
    }


def score_checkpoint(run, checkpoint_path, classifier, real, test_images, recorded, remedy_for=remedy) -> dict:
    """The scores of one checkpoint against the real sample (metrics.real_side), on the classifier's device."""
    device = device_of(classifier)
    roles = ("encoder", "generator") if run["kind"] == "vae" else ("generator",)
    nets = {role: net.to(device) for role, net in load_nets(run, checkpoint_path, roles, remedy_for).items()}
    fakes = generated_images(nets["generator"], run, recorded["n_generated"], recorded["seed"])
    features, probs = features_and_probs(classifier, fakes)
    labels = sampling.cycled_labels(run, len(fakes))
    scores = generated_sample_scores(real, features, probs, labels, recorded)
    if run["kind"] == "vae":
        scores |= vae_test_scores(nets["encoder"], nets["generator"], test_images, run, recorded["seed"])
    if run.get("ema") is not None:  # the same noise (and labels) through the averaged generator, scored the same way
        averaged = load_moving_average(run, checkpoint_path, remedy_for).to(device)
        features, probs = features_and_probs(classifier, generated_images(averaged, run, len(fakes), recorded["seed"]))
        scores |= {
            f"ema_{key}": value
            for key, value in generated_sample_scores(real, features, probs, labels, recorded).items()
        }
    return scores


def generated_sample_scores(real, features, probs, labels, recorded) -> dict:
    """Every score of a generated sample, and for a conditional one how often the classifier reads the label it
    was drawn for."""
    scores = sample_scores(real, features, probs, recorded)
    if labels is not None:
        scores["label_accuracy"] = float((probs.argmax(1).cpu() == labels).double().mean())
    return scores


class StaleReference(ValueError):
    """real_scores.json was made under other score settings, or with another classifier."""


def check_reference(reference: dict, reference_path: Path, recorded: dict, classifier_path: Path | None = None) -> None:
    """The real-vs-real scores (real_scores.json) must have been made under the settings the checkpoints are scored
    with, and, where classifier_path is given, with that very classifier file."""
    stale = [key for key, value in recorded.items() if reference.get(key) != value]
    if stale:
        raise StaleReference(f"{reference_path} was made with other evaluation settings ({', '.join(stale)})")
    if classifier_path is not None and files.file_hash(classifier_path) != reference["classifier_sha256"]:
        raise StaleReference(f"{reference_path} was made with another classifier than {classifier_path}")


EVALUATION_KEYS = ("seed", "kid_subsets", "kid_subset_size", "coverage_threshold")  # what score_settings reads


class Scoring(NamedTuple):
    """What a job that scores checkpoints prepares once: the classifier on its device, the held-out images, the
    score settings, the real side of every score (metrics.real_side) and the real-vs-real scores (real_scores.json)."""

    device: torch.device
    classifier: nn.Module
    test_images: torch.Tensor
    settings: dict
    real: object
    reference: dict


def prepare_scoring(
    classifier_path,
    reference_path,
    test_path,
    evaluation: dict | None,
    device: str,
    threads: int,
    classifier_file=False,
) -> Scoring:
    """The scoring side of a job, under the evaluation settings given, or, when None, those the real-vs-real scores
    (real_scores.json) were made with; checked against real_scores.json (and, with classifier_file, against the
    classifier file's hash: for scripts outside the workflow, whose inputs Snakemake does not keep in step)."""
    reference = json.loads(Path(reference_path).read_text())
    evaluation = evaluation if evaluation is not None else {key: reference[key] for key in EVALUATION_KEYS}
    settings = score_settings(evaluation, reference["n_real"])
    check_reference(reference, Path(reference_path), settings, classifier_path if classifier_file else None)
    device, classifier = scoring_classifier(classifier_path, device, threads)
    test_images, _ = data.load_split(test_path, device)
    real = real_side(features_and_probs(classifier, test_images[: settings["n_real"]])[0], settings)
    return Scoring(device, classifier, test_images, settings, real, reference)


def evaluate_run(
    run: dict,
    checkpoints_dir: str,
    classifier_path: str,
    reference_path: str,
    test_path: str,
    metrics_dir: str,
    metrics_csv: str,
    settings: dict,
    threads: int = 1,
    device: str = "cpu",
) -> None:
    """Scores every checkpoint of a run on the device (auto: a GPU if torch sees one): one JSON per checkpoint and
    one CSV for the run."""
    import pandas as pd

    device, classifier, test_images, recorded, real, reference = prepare_scoring(
        classifier_path, reference_path, test_path, settings, device, threads
    )
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)
    log.info("run %s: scoring %d checkpoints on %s", run["name"], len(checkpoint_epochs(run)), device_name(device))

    rows = []
    for epoch in checkpoint_epochs(run):
        scores = score_checkpoint(
            run, Path(checkpoints_dir) / checkpoint_file(epoch), classifier, real, test_images, recorded
        )
        record = {
            "run": run["name"],
            "epoch": epoch,
            **scores,
            **recorded,
            "fid_floor": reference["scores"]["fid"],
            "classifier_sha256": reference["classifier_sha256"],
            "classifier_test_accuracy": reference["classifier_test_accuracy"],
            "scored_on": device.type,
        }
        files.write_json(Path(metrics_dir) / metrics_file(epoch), record)
        rows.append({k: v for k, v in record.items() if not k.endswith("class_histogram")})
        log.info(
            "epoch %d: FID %.3f, KID %.5f ± %.5f, IS %.3f, precision %.3f, recall %.3f, density %.3f, coverage %.3f, "
            "%d classes covered",
            epoch,
            scores["fid"],
            scores["kid_mean"],
            scores["kid_std"],
            scores["inception_score"],
            scores["precision"],
            scores["recall"],
            scores["density"],
            scores["coverage"],
            scores["classes_covered"],
        )
    files.write_csv(metrics_csv, pd.DataFrame(rows))
