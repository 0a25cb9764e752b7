"""How the workflow's wall time grows with the number of runs and epochs, to plan a grid.

    python benchmarks/scale.py [--preset pytorch-gan] [--runs 1 2 4] [--epochs 5 20] [--cores N]

Runs the whole workflow from scratch (dataset, classifier, training, scores, frames, GIFs, summary)
once per (runs, epochs) pair, each run the preset with its own seed and a checkpoint every 5 epochs,
and prints a table of wall times with the seconds per run-epoch beyond the smallest configuration.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from pipeline import run_pipeline  # noqa: E402


def scale_config(preset: str, runs: int, epochs: int) -> dict:
    with (REPO / "config" / "config.yaml").open() as handle:
        config = yaml.safe_load(handle)
    run = {"dataset": "mnist-5k", "preset": preset, "epochs": epochs, "checkpoint_every": 5}  # as the default config
    config["runs"] = {f"run-{index}": {**run, "seed": index} for index in range(runs)}
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="pytorch-gan")
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--cores", default=str(os.cpu_count()))
    args = parser.parse_args()

    rows = []
    for runs in args.runs:
        for epochs in args.epochs:
            with tempfile.TemporaryDirectory(prefix="genzoo-scale-") as scratch:
                config = Path(scratch) / "scale.yaml"
                config.write_text(yaml.safe_dump(scale_config(args.preset, runs, epochs)))
                result = run_pipeline(config, args.cores, Path(scratch) / "workflow")
            rows.append((runs, epochs, result["jobs"], result["wall"], result["training"]))
            print(f"  {runs} runs x {epochs:3d} epochs: {result['jobs']:4d} jobs {result['wall']:7.1f} s", flush=True)

    base_runs, base_epochs, _, base_wall, _ = rows[0]
    print(f"\n{args.preset}, {args.cores} cores; marginal cost against {base_runs} run x {base_epochs} epochs")
    print("| runs | epochs | jobs | wall time (s) | training share | s per extra run-epoch |")
    print("|---:|---:|---:|---:|---:|---:|")
    for runs, epochs, jobs, wall, training in rows:
        extra = runs * epochs - base_runs * base_epochs
        marginal = f"{(wall - base_wall) / extra:.2f}" if extra else "–"
        print(f"| {runs} | {epochs} | {jobs} | {wall:.0f} | {training / wall:.0%} | {marginal} |")


if __name__ == "__main__":
    main()
