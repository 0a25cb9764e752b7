"""Runs a config from scratch in a scratch copy of the workflow and prints where the wall time went.

    python benchmarks/pipeline.py [--config config/config.yaml] [--cores N] [--keep DIR] [--precision bf16]

Prints the whole run's wall time, the time during which at least one training loop was running
(from each run's train_info.json), their ratio (the pipeline's training share), per run the
training time and throughput, and per run what one checkpoint costs beyond training: the evaluate
job's time per scored checkpoint and a render_frame job's time, next to one training epoch (from the
jobs' Snakemake benchmark files, which include each process's start and torch import).
--precision sets every run of the config to that precision (fp32 or bf16 autocast).
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def job_seconds(path: Path) -> float:
    """Wall seconds of one job, from the TSV that Snakemake's benchmark directive writes."""
    with path.open() as handle:
        return float(next(csv.DictReader(handle, delimiter="\t"))["s"])


def checkpoint_costs(workdir: Path, run: str) -> dict[str, float]:
    """Seconds per training epoch, per scored checkpoint and per rendered frame, for one finished run."""
    with (workdir / "results" / "runs" / run / "losses_epochs.csv").open() as handle:
        epochs = [float(row["seconds"]) for row in csv.DictReader(handle)]
    checkpoints = len(list((workdir / "results" / "runs" / run / "checkpoints").glob("epoch_*.pt")))
    frames = [job_seconds(p) for p in (workdir / "results" / "benchmarks" / "render_frame" / run).glob("*.tsv")]
    return {
        "epoch": sum(epochs) / len(epochs),
        "evaluate": job_seconds(workdir / "results" / "benchmarks" / "evaluate" / f"{run}.tsv") / checkpoints,
        "frame": sum(frames) / len(frames),
    }


def with_precision(config: Path, precision: str) -> dict:
    with config.open() as handle:
        settings = yaml.safe_load(handle)
    for run in settings["runs"].values():
        run["precision"] = precision
    return settings


def copy_workflow(workdir: Path, config: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "results", ".snakemake")
    for name in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(REPO / name, workdir / name, ignore=ignore)
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    shutil.copy(config, workdir / "config" / "benchmark.yaml")


def run_pipeline(config: Path, cores: str, workdir: Path) -> dict:
    """Runs the workflow with this config from scratch in workdir; wall time, jobs and train_info per run."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy_workflow(workdir, config.resolve())
    command = [sys.executable, "-m", "snakemake", "--cores", cores, "--configfile", "config/benchmark.yaml"]
    started = time.time()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.time() - started
    if result.returncode != 0:
        sys.exit(f"snakemake failed:\n{result.stderr[-4000:]}")
    infos = [json.loads(p.read_text()) for p in sorted(workdir.glob("results/runs/*/train_info.json"))]
    return {
        "wall": wall,
        "training": union_seconds([(i["train_started"], i["train_finished"]) for i in infos]),
        "jobs": sum(1 for line in result.stderr.splitlines() if line.startswith("Finished jobid")),
        "infos": infos,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--cores", default=str(os.cpu_count()))
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], help="override every run's precision")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="genzoo-bench-"))
    config = args.config
    if args.precision:
        config = workdir / f"{args.config.stem}-{args.precision}.yaml"
        workdir.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(with_precision(args.config, args.precision)))
    result = run_pipeline(config, args.cores, workdir)
    wall, training = result["wall"], result["training"]
    print(f"config            {args.config}" + (f", every run in {args.precision}" if args.precision else ""))
    print(f"cores             {args.cores} (machine: {os.cpu_count()})")
    print(f"jobs              {result['jobs']}")
    print(f"wall time         {wall:7.1f} s ({wall / 60:.1f} min)")
    print(f"training running  {training:7.1f} s")
    print(f"training share    {training / wall:7.1%}")
    for info in result["infos"]:
        run = info["run"]
        print(
            f"  {run['name']:<12} {run['preset']:<12} {run['epochs']:>4} epochs  "
            f"{info['train_seconds']:7.1f} s  {info['images_per_s']:8.1f} img/s  {info['threads']} thread(s)"
        )
    print("per checkpoint, next to one training epoch (seconds):")
    for info in result["infos"]:
        costs = checkpoint_costs(workdir, info["run"]["name"])
        print(
            f"  {info['run']['name']:<12} epoch {costs['epoch']:6.2f}   evaluate {costs['evaluate']:5.2f} "
            f"({costs['evaluate'] / costs['epoch']:.0%} of an epoch)   render_frame {costs['frame']:5.2f} "
            f"({costs['frame'] / costs['epoch']:.0%})"
        )
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
