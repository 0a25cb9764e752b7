"""Scores every saved checkpoint of a run with the frozen classifier."""

import json
import logging
from pathlib import Path

import torch
from torch import nn

from . import data, io, models, runtime, training
from .classifier import features_and_probs, load_classifier
from .config import checkpoint_epochs, epoch_tag
from .metrics import class_coverage, frechet_distance

log = logging.getLogger(__name__)


def load_generator(run: dict, checkpoint_path: Path) -> nn.Module:
    checkpoint = io.load_torch(checkpoint_path)
    generator = models.build(run["architecture"], run["latent_dim"])["generator"]
    try:
        generator.load_state_dict(checkpoint["nets"]["generator"])
    except (KeyError, RuntimeError, TypeError) as error:
        message = f"{checkpoint_path}: not a generator checkpoint of run {run['name']} ({error})"
        raise io.CheckpointError(message) from error
    return generator.eval()


def evaluate_run(
    run: dict,
    checkpoints_dir: str,
    classifier_path: str,
    classifier_info_path: str,
    test_path: str,
    metrics_dir: str,
    metrics_csv: str,
    n_samples: int,
    seed: int,
    coverage_threshold: float,
    threads: int = 1,
) -> None:
    """Scores every checkpoint of a run: one JSON per checkpoint and one CSV for the run."""
    import pandas as pd

    runtime.configure_torch(torch.device("cpu"), threads)
    classifier = load_classifier(classifier_path)
    classifier_info = json.loads(Path(classifier_info_path).read_text())
    test_images, _ = data.load_split(test_path)
    n = min(n_samples, len(test_images))
    real_features, _ = features_and_probs(classifier, test_images[:n])
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)

    rows = []
    for epoch in checkpoint_epochs(run):
        tag = epoch_tag(epoch)
        generator = load_generator(run, Path(checkpoints_dir) / f"epoch_{tag}.pt")
        noise = training.sample_noise(n, run, torch.device("cpu"), torch.Generator().manual_seed(seed))
        with torch.no_grad():
            fakes = data.to_unit_range(generator(noise), run["pixel_range"])
        fake_features, fake_probs = features_and_probs(classifier, fakes)
        scores = {
            "fid": frechet_distance(real_features, fake_features),
            **class_coverage(fake_probs, coverage_threshold),
        }
        record = {
            "run": run["name"],
            "epoch": epoch,
            **scores,
            "n_generated": n,
            "n_real": n,
            "seed": seed,
            "coverage_threshold": coverage_threshold,
            "fid_floor": classifier_info["fid_floor"],
            "classifier_sha256": classifier_info["sha256"],
            "classifier_test_accuracy": classifier_info["test_accuracy"],
        }
        io.write_json(Path(metrics_dir) / f"epoch_{tag}.json", record)
        rows.append({k: v for k, v in record.items() if k != "class_histogram"})
        log.info(
            "epoch %d: FID %.3f, %d classes covered, KL to uniform %.3f",
            epoch,
            scores["fid"],
            scores["classes_covered"],
            scores["kl_to_uniform"],
        )
    io.write_csv(metrics_csv, pd.DataFrame(rows))
