"""Scores generator checkpoints made outside the workflow (a reference project's own script, run as published)
as the evaluate rule scores a run's: the same frozen classifier, real sample, noise seed and scores.

    python benchmarks/score_checkpoints.py --results <finished workflow>/results --dataset mnist \
        --preset pytorch-gan CHECKPOINT [CHECKPOINT ...] [--device cpu] [--threads 1] [--csv scores.csv]

A checkpoint is a torch file {"nets": {"generator": state_dict}} (a VAE's: {"encoder": ..., "generator": ...}),
read weights-only, whose state dicts fit the preset's networks at the preset's own latent size (the workflow's own
checkpoints are such files). The sample size and the scores' settings are those the workflow recorded in
results/classifiers/<dataset>/real_scores.json, checked against this code's and against the classifier file, so the
rows compare with its runs' metrics.csv (bit for bit where both were scored on the same device; a GPU's scores
agree with the CPU's to about 1e-4 in FID). Prints one Markdown row per checkpoint; --csv writes every score of
each, as metrics.csv has them.
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, evaluation, files  # noqa: E402
from genzoo.presets import PRESETS  # noqa: E402

COLUMNS = ("fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered")


def not_a_checkpoint_remedy(path: Path) -> str:
    return "give a torch file that holds the preset's generator state_dict as {'nets': {'generator': ...}}"


def score_all(args) -> list[dict]:
    classifiers, test_path = (
        args.results / "classifiers" / args.dataset,
        args.results / "data" / args.dataset / "test.pt",
    )
    needed = [classifiers / "classifier.pt", classifiers / "real_scores.json", test_path]
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        sys.exit(f"{', '.join(missing)} not found: run the workflow's real_scores job for dataset {args.dataset} first")
    missing = [str(path) for path in args.checkpoints if not path.is_file()]
    if missing:
        sys.exit(f"no checkpoint file {', '.join(missing)}")
    run = config.standalone_run(args.preset, dataset=args.dataset)
    try:
        scoring = evaluation.prepare_scoring(
            classifiers / "classifier.pt", classifiers / "real_scores.json", test_path, None, args.device,
            args.threads, classifier_file=True,
        )  # fmt: skip
    except evaluation.StaleReference as error:
        sys.exit(f"{error}: run the workflow's real_scores job again")
    device, classifier, test_images, settings, real, _ = scoring
    rows = []
    for path in args.checkpoints:
        try:
            scores = evaluation.score_checkpoint(
                run, path, classifier, real, test_images, settings, remedy_for=not_a_checkpoint_remedy
            )
        except (files.CheckpointError, OSError) as error:  # OSError: a file that cannot be read at all
            sys.exit(f"{path}: {error}" if isinstance(error, OSError) and str(path) not in str(error) else str(error))
        rows.append({"checkpoint": str(path), **scores, "scored_on": device.type})
        print("| " + " | ".join([path.name, *(f"{scores[key]:.4g}" for key in COLUMNS)]) + " |", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS), help="whose networks the files hold")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
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
