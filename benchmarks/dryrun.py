"""How long Snakemake takes to plan: a dry run of a finished workflow, and of a large grid from scratch.

    python benchmarks/dryrun.py [--finished DIR] [--runs 12] [--epochs 50]

--finished: a folder holding this workflow with its results (the repository after `make run`, or a
folder kept by `benchmarks/pipeline.py --keep DIR`); its dry run should find nothing to do.
The grid: a scratch copy of the workflow with a config of --runs runs (the presets in turn, a seed
each) of --epochs epochs, nothing run yet, so every job is planned. Each figure is the wall time of
the whole `snakemake --dry-run` command, Python's start included; the best of --repeats.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "benchmarks"))

from genzoo.presets import PRESETS  # noqa: E402
from pipeline import copy_workflow  # noqa: E402


def dry_run(workdir: Path, configfile: str | None, repeats: int) -> tuple[float, int]:
    """(best wall seconds, jobs planned) of `snakemake --dry-run` in workdir."""
    command = [sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1"]
    if configfile:
        command += ["--configfile", configfile]
    best, jobs = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        if result.returncode != 0:
            sys.exit(f"dry run in {workdir} failed:\n{result.stderr[-3000:]}")
        total = re.search(r"^total\s+(\d+)$", result.stdout + result.stderr, re.MULTILINE)
        jobs = int(total.group(1)) if total else 0
    return best, jobs


def grid_config(runs: int, epochs: int) -> dict:
    with (REPO / "config" / "config.yaml").open() as handle:
        config = yaml.safe_load(handle)
    presets = list(PRESETS)
    config["runs"] = {
        f"grid-{index:02d}": {
            "dataset": "mnist-5k",
            "preset": presets[index % len(presets)],
            "epochs": epochs,
            "seed": index,
        }
        for index in range(runs)
    }
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finished", type=Path, default=REPO)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    seconds, jobs = dry_run(args.finished, None, args.repeats)
    print(f"finished workflow ({args.finished}): dry run {seconds:5.2f} s, {jobs} jobs to do (goal: <= 5 s)")
    with tempfile.TemporaryDirectory(prefix="genzoo-dryrun-") as scratch:
        workdir = Path(scratch)
        config = workdir / "grid.yaml"
        config.write_text(yaml.safe_dump(grid_config(args.runs, args.epochs)))
        copy_workflow(workdir, config)
        seconds, jobs = dry_run(workdir, "config/benchmark.yaml", args.repeats)
    print(
        f"grid of {args.runs} runs x {args.epochs} epochs from scratch: dry run {seconds:5.2f} s, {jobs} jobs "
        f"(goal: <= 20 s)"
    )


if __name__ == "__main__":
    main()
