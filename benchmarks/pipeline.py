"""Runs a config from scratch in a scratch copy of the workflow and prints where the wall time went.

    python benchmarks/pipeline.py [--config config/config.yaml] [--cores N] [--keep DIR]

Prints the whole run's wall time, the time during which at least one training loop was running
(from each run's train_info.json), their ratio (the pipeline's training share), and per run the
training time and throughput.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def union_seconds(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by possibly overlapping intervals."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def copy_workflow(workdir: Path, config: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "results", ".snakemake")
    for name in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(REPO / name, workdir / name, ignore=ignore)
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    shutil.copy(config, workdir / "config" / "benchmark.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--cores", default=str(os.cpu_count()))
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="genzoo-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    copy_workflow(workdir, args.config.resolve())
    command = [sys.executable, "-m", "snakemake", "--cores", args.cores, "--configfile", "config/benchmark.yaml"]
    started = time.time()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.time() - started
    if result.returncode != 0:
        sys.exit(f"snakemake failed:\n{result.stderr[-4000:]}")

    infos = [json.loads(p.read_text()) for p in sorted(workdir.glob("results/runs/*/train_info.json"))]
    training = union_seconds([(i["train_started"], i["train_finished"]) for i in infos])
    jobs = sum(1 for line in result.stderr.splitlines() if line.startswith("Finished jobid"))
    print(f"config            {args.config}")
    print(f"cores             {args.cores} (machine: {os.cpu_count()})")
    print(f"jobs              {jobs}")
    print(f"wall time         {wall:7.1f} s ({wall / 60:.1f} min)")
    print(f"training running  {training:7.1f} s")
    print(f"training share    {training / wall:7.1%}")
    for info in infos:
        run = info["run"]
        print(
            f"  {run['name']:<12} {run['preset']:<12} {run['epochs']:>4} epochs  "
            f"{info['train_seconds']:7.1f} s  {info['images_per_s']:8.1f} img/s  {info['threads']} thread(s)"
        )
    if not args.keep:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
