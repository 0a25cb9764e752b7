"""What scoring one checkpoint costs, on the CPU and on a GPU: the parts of an evaluate job at n images a side.

    python benchmarks/scoring.py [--results results] [--dataset mnist] [--n 10000] [--devices cpu cuda]
        [--repeats 2] [--threads 1]

Uses a finished workflow's frozen classifier and splits (results/classifiers/<dataset>/, results/data/<dataset>/):
held-out images stand for the real sample, training images for a checkpoint's generated one (the real_scores job's
comparison). Per device it times, best of --repeats: the classifier's features of n images, the real sample's
share done once per job (metrics.real_side: its neighbour radii and KID's real-subset kernels), and every score
of one generated sample (metrics.sample_scores: FID, KID, IS, precision/recall, density/coverage, classes), and
prints the FID as a check that the devices agree.
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))


def best_seconds(work, repeats: int, device) -> tuple[float, object]:
    import torch

    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = work()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - started)
    return best, result


def time_parts(name: str, args, classifier_path: Path, split: Path, settings: dict) -> str:
    """The table row of one device: seconds for the features, the real side and one checkpoint's scores."""
    import torch
    from genzoo import data, metrics, runtime
    from genzoo.classifier import features_and_probs, load_classifier

    device = runtime.resolve_device(name)
    runtime.configure_torch(device, args.threads)
    classifier = load_classifier(classifier_path).to(device)
    real_images = data.load_split(split / "test.pt", device)[0][: args.n]
    fake_images = data.load_split(split / "train.pt", device)[0][: args.n]
    with torch.no_grad():
        features_s, (real_features, _) = best_seconds(
            lambda: features_and_probs(classifier, real_images), args.repeats, device
        )
        fake_features, fake_probs = features_and_probs(classifier, fake_images)
    real_s, real = best_seconds(lambda: metrics.real_side(real_features, settings), args.repeats, device)
    scores_s, scores = best_seconds(
        lambda: metrics.sample_scores(real, fake_features, fake_probs, settings), args.repeats, device
    )
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"| {hardware} | {features_s:.2f} | {real_s:.2f} | {scores_s:.2f} | {scores['fid']:.6f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--n", type=int, default=10000, help="images a side (evaluation.n_samples)")
    parser.add_argument("--devices", nargs="+", default=["cpu"], choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the workflow's default is 1)")
    parser.add_argument("--kid-subset-size", type=int, default=1000)
    args = parser.parse_args()

    classifier_path = args.results / "classifiers" / args.dataset / "classifier.pt"
    split = args.results / "data" / args.dataset
    if not classifier_path.exists():
        sys.exit(f"{classifier_path} not found: run `snakemake --cores 1 {classifier_path}` in that workflow first")

    import torch
    from genzoo import metrics

    settings = metrics.score_settings(
        {"seed": 0, "coverage_threshold": 0.025, "kid_subsets": 100, "kid_subset_size": args.kid_subset_size}, args.n
    )
    print(f"torch {torch.__version__}, {args.n} images a side, {args.threads} CPU thread(s)")
    print("| device | features of n images (s) | real side, once per job (s) | scores per checkpoint (s) | FID |")
    print("|---|---:|---:|---:|---:|")
    for name in args.devices:
        print(time_parts(name, args, classifier_path, split, settings), flush=True)


if __name__ == "__main__":
    main()
