"""fp32 against bf16 autocast over many seeds: trains one preset's run at both precisions for each seed and scores
each run's last checkpoint as the evaluate rule does (the finished workflow's classifier and real_scores.json).

    python benchmarks/precision_seeds.py --results <finished workflow>/results --dataset mnist-5k \
        --preset tf-dcgan --epochs 25 --batch-size 32 --lr 0.0002 --betas 0.5 0.999 --seeds 1 2 3 4 5 6 7 8 \
        [--device cuda] [--graph]

config/precision.yaml's DCGAN pair, at more seeds than a config comfortably lists. Prints the final FID per seed
and precision, each precision's mean and standard deviation, and Welch's t of the difference.
"""

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo import config, evaluation, training  # noqa: E402
from genzoo.schedule import checkpoint_file  # noqa: E402


def run_settings(args, seed: int, precision: str) -> dict:
    run = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": seed, "precision": precision}
    run |= {"device": args.device, "cuda_graph": args.graph, "checkpoint_every": args.epochs}
    if args.lr is not None:
        run |= {"lr_g": args.lr, "lr_d": args.lr}
    if args.betas is not None:
        run |= {"betas": args.betas}
    return config.standalone_run(args.preset, f"{precision}-s{seed}", dataset=args.dataset, **run)


def welch_t(a: list[float], b: list[float]) -> float:
    return (statistics.mean(a) - statistics.mean(b)) / math.sqrt(
        statistics.variance(a) / len(a) + statistics.variance(b) / len(b)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "results")
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--preset", default="tf-dcgan")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--betas", type=float, nargs=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 9)))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--graph", action="store_true", help="cuda_graph: true (on a GPU)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    classifiers, splits = args.results / "classifiers" / args.dataset, args.results / "data" / args.dataset
    device, classifier, test_images, settings, real, _ = evaluation.prepare_scoring(
        classifiers / "classifier.pt", classifiers / "real_scores.json", splits / "test.pt", None, args.device,
        args.threads, classifier_file=True,
    )  # fmt: skip
    print(f"{args.preset}, {args.epochs} epochs at batch {args.batch_size} on {args.dataset}, {device}")
    print("| seed | precision | final FID | classes |\n|---:|---|---:|---:|", flush=True)
    fids: dict[str, list[float]] = {"fp32": [], "bf16": []}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            for precision in fids:
                run = run_settings(args, seed, precision)
                out = Path(scratch) / run["name"]
                training.train(
                    run, str(splits / "train.pt"), out / "ckpt", out / "samples", out / "steps.csv",
                    out / "epochs.csv", out / "info.json", resume_dir=out / "resume", threads=args.threads,
                )  # fmt: skip
                last = out / "ckpt" / checkpoint_file(args.epochs)
                scores = evaluation.score_checkpoint(run, last, classifier, real, test_images, settings)
                fids[precision].append(scores["fid"])
                print(f"| {seed} | {precision} | {scores['fid']:.1f} | {scores['classes_covered']} |", flush=True)
    for precision, values in fids.items():
        spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
        print(f"{precision}: {statistics.mean(values):.1f}{spread} over {len(values)} seeds")
    if len(args.seeds) > 1:
        print(f"Welch's t (bf16 - fp32): {welch_t(fids['bf16'], fids['fp32']):.2f}")


if __name__ == "__main__":
    main()
