"""Runs a config from scratch in a scratch copy of the workflow and prints where the wall time went.

    python benchmarks/pipeline.py [--config config/config.yaml] [--cores N] [--keep DIR] [--precision bf16]
        [--seeds 1] [--budget 0.25] [--snakemake-args "--resources gpu=4 --config ..."] [--mps]

Snakemake runs twice: first the data, the scoring classifier and the real-vs-real floor (`--until real_scores`),
then everything else, so the second wall time is the one from finished data to finished leaderboard. Prints both,
the sum of the second phase's job times (from the jobs' Snakemake benchmark files, by rule: what the jobs would
take one after another), the time during which at least one training loop was running (from each run's
train_info.json), their ratio (the pipeline's training share), per run the training time and throughput, and per
run what one checkpoint costs beyond training: the evaluate job's time per scored checkpoint and a render_frame
job's time, next to one training epoch (the benchmark files include each process's start and torch import).
--precision sets every run of the config to that precision (fp32 or bf16 autocast), --seeds every run's seeds,
--budget every run's epochs to that fraction of its own (at least one), to time a large config within a limit.
--snakemake-args go to both Snakemake calls (a mirror for the data, `--resources gpu=k`); paths in them are
read from the scratch copy, so give them absolute. --mps runs both calls under an MPS daemon of the benchmark's own
(benchmarks/mps.py), for jobs that share a GPU (`--resources gpu=k`).
"""

import argparse
import contextlib
import csv
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

sys.path.insert(0, str(REPO / "benchmarks"))

from genzoo.config import resolve_run  # noqa: E402
from mps import mps_server  # noqa: E402


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


def config_variant(config: Path, precision: str | None = None, seeds=None, budget: float | None = None) -> dict:
    """The config with every run set to this precision, these seeds and this fraction of its epochs (each where
    given; a run that names its budget in steps gets it in epochs)."""
    with config.open() as handle:
        settings = yaml.safe_load(handle)
    for name, run in settings["runs"].items():
        if budget is not None:
            run["epochs"] = max(1, math.floor(resolve_run(settings, name)["epochs"] * budget + 0.5))
            run.pop("steps", None)
        if precision:
            run["precision"] = precision
        if seeds:
            run["seeds"] = list(seeds)
    return settings


def copy_workflow(workdir: Path, config: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "results", ".snakemake")
    for name in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(REPO / name, workdir / name, ignore=ignore)
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    shutil.copy(config, workdir / "config" / "benchmark.yaml")


def benchmark_files(workdir: Path) -> set[Path]:
    return set((workdir / "results" / "benchmarks").rglob("*.tsv"))


def rule_seconds(workdir: Path, files: set[Path]) -> dict[str, float]:
    """Seconds of these jobs summed by rule (the folder under results/benchmarks that names it)."""
    totals: dict[str, float] = {}
    for path in files:
        rule = path.relative_to(workdir / "results" / "benchmarks").parts[0]
        totals[rule] = totals.get(rule, 0.0) + job_seconds(path)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def run_snakemake(workdir: Path, cores: str, extra: list[str]) -> tuple[float, int]:
    """Wall seconds and finished jobs of one Snakemake call in workdir; exits with its log's tail if it fails."""
    command = [sys.executable, "-m", "snakemake", "--cores", cores, "--configfile", "config/benchmark.yaml", *extra]
    started = time.time()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.time() - started
    if result.returncode != 0:
        sys.exit(f"snakemake failed:\n{result.stderr[-4000:]}")
    return wall, sum(1 for line in result.stderr.splitlines() if line.startswith("Finished jobid"))


def run_pipeline(config: Path, cores: str, workdir: Path, extra: list[str] = ()) -> dict:
    """Runs the workflow with this config from scratch in workdir: the data, classifiers and floors first, then the
    rest; wall times, jobs, the rest's job seconds by rule, and train_info per run."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy_workflow(workdir, config.resolve())
    prepare_wall, prepare_jobs = run_snakemake(workdir, cores, [*extra, "--until", "real_scores"])
    prepared = benchmark_files(workdir)
    # Printed now, so that a measurement cut off by a time limit still tells what the data and classifiers took.
    by_rule = ", ".join(f"{rule} {seconds:.0f} s" for rule, seconds in rule_seconds(workdir, prepared).items())
    print(f"data, classifiers {prepare_wall:7.1f} s, {prepare_jobs} jobs (first call): {by_rule}")
    print(f"second call started at {time.strftime('%H:%M:%S')}", flush=True)
    wall, jobs = run_snakemake(workdir, cores, list(extra))
    infos = [json.loads(p.read_text()) for p in sorted(workdir.glob("results/runs/*/train_info.json"))]
    return {
        "prepare_wall": prepare_wall,
        "prepare_jobs": prepare_jobs,
        "wall": wall,
        "jobs": jobs,
        "sequential": rule_seconds(workdir, benchmark_files(workdir) - prepared),
        "training": union_seconds([(i["train_started"], i["train_finished"]) for i in infos]),
        "infos": infos,
    }


def variant_label(args) -> str:
    parts = [f"every run in {args.precision}"] if args.precision else []
    parts += [f"seeds {args.seeds}"] if args.seeds else []
    parts += [f"{args.budget:g} of each run's epochs"] if args.budget is not None else []
    parts += ["under MPS"] if args.mps else []
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--cores", default=str(os.cpu_count()))
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], help="override every run's precision")
    parser.add_argument("--seeds", type=int, nargs="+", help="override every run's seeds")
    parser.add_argument("--budget", type=float, help="every run's epochs times this (at least one epoch)")
    parser.add_argument("--snakemake-args", default="", help="more arguments for both Snakemake calls")
    parser.add_argument("--mps", action="store_true", help="run the jobs under an MPS daemon of their own")
    args = parser.parse_args()
    if args.budget is not None and args.budget <= 0:
        parser.error(f"--budget must be above 0, not {args.budget}")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="genzoo-bench-"))
    config, label = args.config, variant_label(args)
    if args.precision or args.seeds or args.budget is not None:
        config = workdir / f"{args.config.stem}-variant.yaml"
        workdir.mkdir(parents=True, exist_ok=True)
        variant = config_variant(args.config, args.precision, args.seeds, args.budget)
        config.write_text(yaml.safe_dump(variant, sort_keys=False))
    with mps_server() if args.mps else contextlib.nullcontext():
        result = run_pipeline(config, args.cores, workdir, shlex.split(args.snakemake_args))
    wall, training, sequential = result["wall"], result["training"], result["sequential"]
    print(f"config            {args.config}" + (f", {label}" if label else ""))
    print(f"cores             {args.cores} (machine: {os.cpu_count()})")
    print(f"jobs              {result['jobs']} (from finished data to finished leaderboard)")
    print(f"wall time         {wall:7.1f} s ({wall / 60:.1f} min)")
    total = sum(sequential.values())
    by_rule = ", ".join(f"{rule} {seconds:.0f}" for rule, seconds in sequential.items())
    print(f"jobs one by one   {total:7.1f} s ({total / 60:.1f} min; {total / wall:.1f}x the wall time): {by_rule}")
    print(f"training running  {training:7.1f} s")
    print(f"training share    {training / wall:7.1%}")
    width = max(len(info["run"]["name"]) for info in result["infos"])
    for info in result["infos"]:
        run = info["run"]
        print(
            f"  {run['name']:<{width}} {run['preset']:<18} {run['epochs']:>4} epochs  {info['device']:<6} "
            f"{info['train_seconds']:7.1f} s  {info['images_per_s']:8.1f} img/s  {info['threads']} thread(s)"
        )
    print("per checkpoint, next to one training epoch (seconds):")
    for info in result["infos"]:
        costs = checkpoint_costs(workdir, info["run"]["name"])
        print(
            f"  {info['run']['name']:<{width}} epoch {costs['epoch']:6.2f}   evaluate {costs['evaluate']:5.2f} "
            f"({costs['evaluate'] / costs['epoch']:.0%} of an epoch)   render_frame {costs['frame']:5.2f} "
            f"({costs['frame'] / costs['epoch']:.0%})"
        )
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
