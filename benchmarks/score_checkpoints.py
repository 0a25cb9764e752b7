"""Scores generator checkpoints made outside the workflow (a reference project's own script, run as published)
exactly as the evaluate rule scores a run's: the same frozen classifier, real sample, noise seed and scores.

    python benchmarks/score_checkpoints.py --results <finished workflow>/results --dataset mnist \
        --preset pytorch-gan CHECKPOINT [CHECKPOINT ...] [--threads 1] [--csv scores.csv]

A checkpoint is a torch file {"nets": {"generator": state_dict}} (the workflow's own checkpoints are such files)
whose state_dict fits the preset's generator; it is read weights-only. The sample size and the scores' settings
are those the workflow recorded in results/classifiers/<dataset>/real_scores.json, so the rows compare with its
runs' metrics.csv. Prints one Markdown row per checkpoint; --csv writes every score of each, as metrics.csv has them.
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, data, evaluation, files  # noqa: E402
from genzoo.classifier import features_and_probs, scoring_classifier  # noqa: E402
from genzoo.metrics import real_side, score_settings  # noqa: E402

EVALUATION_KEYS = ("seed", "kid_subsets", "kid_subset_size", "coverage_threshold")
COLUMNS = ("fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered")


def preset_run(preset: str, dataset: str) -> dict:
    """The preset's run as the workflow resolves it (on the CPU), for its architecture, latent size and pixel range."""
    cfg = {"datasets": {dataset: {"source": "mnist"}}, "runs": {preset: {"dataset": dataset, "preset": preset}}}
    config.check_config(cfg)
    return {**config.resolve_run(cfg, preset), "device": "cpu"}


def recorded_settings(reference_path: Path) -> dict:
    reference = json.loads(reference_path.read_text())
    return score_settings({key: reference[key] for key in EVALUATION_KEYS}, reference["n_real"])


def score_all(args) -> list[dict]:
    classifiers = args.results / "classifiers" / args.dataset
    for needed in (classifiers / "classifier.pt", classifiers / "real_scores.json"):
        if not needed.exists():
            sys.exit(f"{needed} not found: run the workflow's real_scores job for dataset {args.dataset} first")
    run = preset_run(args.preset, args.dataset)
    settings = recorded_settings(classifiers / "real_scores.json")
    device, classifier = scoring_classifier(classifiers / "classifier.pt", "cpu", args.threads)
    test_images, _ = data.load_split(args.results / "data" / args.dataset / "test.pt", device)
    real = real_side(features_and_probs(classifier, test_images[: settings["n_real"]])[0], settings)
    rows = []
    for path in args.checkpoints:
        try:
            scores = evaluation.score_checkpoint(run, path, classifier, real, test_images, settings)
        except files.CheckpointError as error:
            sys.exit(str(error))
        rows.append({"checkpoint": str(path), **scores})
        print("| " + " | ".join([path.name, *(f"{scores[key]:.4g}" for key in COLUMNS)]) + " |", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--preset", required=True, help="the preset whose generator the checkpoints hold")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", type=Path, help="write every score of every checkpoint here")
    args = parser.parse_args()
    print(f"{args.preset} checkpoints scored against {args.dataset}'s test images, as the evaluate rule scores runs")
    print("| checkpoint | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    rows = score_all(args)
    if args.csv:
        import pandas as pd

        files.write_csv(
            args.csv, pd.DataFrame([{k: v for k, v in row.items() if k != "class_histogram"} for row in rows])
        )


if __name__ == "__main__":
    main()
