"""The real-vs-real reference: real training digits scored against held-out ones, as a generator would be."""

import json
import logging
from pathlib import Path

from . import data, files
from .classifier import features_and_probs, scoring_classifier
from .metrics import inception_score, sample_scores, score_settings

log = logging.getLogger(__name__)


def real_reference(
    classifier_path: str,
    classifier_info_path: str,
    train_path: str,
    test_path: str,
    out_path: str,
    settings: dict,
    threads: int = 1,
    device: str = "cpu",
) -> dict:
    """The scores of real training digits against the held-out ones, at the sample size every checkpoint gets.

    No generator can be expected to beat them: they are each score's floor (or ceiling). Scored on the device (auto:
    a GPU if torch sees one), as the checkpoints are.
    """
    device, classifier = scoring_classifier(classifier_path, device, threads)
    classifier_info = json.loads(Path(classifier_info_path).read_text())
    train_images, _ = data.load_split(train_path, device)
    test_images, _ = data.load_split(test_path, device)
    n = settings["n_samples"]
    available = min(len(test_images), len(train_images))
    if n > available:  # fewer images than asked for would be scored, and recorded as asked
        raise ValueError(
            f"evaluation.n_samples {n} exceeds the {len(test_images)} test and {len(train_images)} training images "
            f"of {Path(test_path).parent}; set evaluation.n_samples to at most {available}"
        )
    recorded = score_settings(settings, n)
    test_features, test_probs = features_and_probs(classifier, test_images[:n])
    train_features, train_probs = features_and_probs(classifier, train_images[:n])
    reference = {
        "scores": sample_scores(test_features, train_features, train_probs, recorded),
        "test_inception_score": inception_score(test_probs),
        **recorded,
        "classifier_sha256": classifier_info["sha256"],
        "classifier_test_accuracy": classifier_info["test_accuracy"],
        "classifier_test_size": classifier_info["test_size"],
        "scored_on": device.type,
    }
    files.write_json(out_path, files.provenance(**reference))
    scores = reference["scores"]
    log.info(
        "real vs real at n=%d: FID %.3f, KID %.5f, IS %.3f (held-out digits: %.3f), precision %.3f, recall %.3f",
        n,
        scores["fid"],
        scores["kid_mean"],
        scores["inception_score"],
        reference["test_inception_score"],
        scores["precision"],
        scores["recall"],
    )
    return reference
