"""docs/reproductions.md's table, from a workflow folder that ran config/mnist.yaml or config/fashion.yaml.

    python benchmarks/reproductions.py DIR [--grids OUT.png]

Per config entry (a preset at its reference's budget, over its seeds): the budget as epochs x batches of
B = optimizer steps, the seeds, the minutes of training per seed (the epochs' own time, over every attempt),
the best checkpoint's FID (mean ± std over seeds, and the epochs it came from), the last checkpoint's FID and
classes covered; then per dataset the
classifier's test accuracy and the real-vs-real FID. It reads results/summary.csv, so the summary must be
made first (with `select`, for the entries that have finished). --grids writes the last sample grid of each
entry's first seed side by side, at one height, as one PNG.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from genzoo.scores import format_spread  # noqa: E402
from genzoo.summary import training_time  # noqa: E402


def steps_per_epoch(run: dict, images: int) -> int:
    """The run's steps_per_epoch, or the batches of one pass over the images."""
    if run.get("steps_per_epoch"):
        return run["steps_per_epoch"]
    batches = images / run["batch_size"]
    return math.floor(batches) if run["drop_last"] else math.ceil(batches)


def budget(run: dict, images: int) -> str:
    per_epoch = steps_per_epoch(run, images)
    return f"{run['epochs']:,} × {per_epoch:,} of {run['batch_size']} = {run['epochs'] * per_epoch:,}"


def minutes(seconds: pd.Series) -> str:
    low, high = seconds.min() / 60, seconds.max() / 60
    return f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}"


def training_seconds(run_folder: Path) -> float:
    """The epochs' own time over every attempt, as summary.csv counts it (summary.training_time), read from the run's
    epoch table: a folder's summary.csv may come from a version that timed the last attempt only."""
    return training_time(pd.read_csv(run_folder / "losses_epochs.csv"))["train_seconds"]


def table(folder: Path) -> str:
    summary = pd.read_csv(folder / "results" / "summary.csv")
    lines = [
        "| preset | budget: epochs × batches = steps | seeds | minutes per seed | best FID (epochs) "
        "| final FID | classes covered (final, per seed) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for entry, runs in summary.groupby("entry", sort=False):
        trained = runs["run"].iloc[0].removesuffix("+ema")  # a moving average is scored from its run's checkpoints
        info = json.loads((folder / "results" / "runs" / trained / "train_info.json").read_text())
        stats = json.loads((folder / "results" / "data" / info["run"]["dataset"] / "stats.json").read_text())
        epochs = ", ".join(str(epoch) for epoch in runs["best_epoch"])
        averaged = f", moving average {info['run']['ema']}" if entry.endswith("+ema") else ""
        runs_dir = folder / "results" / "runs"
        seconds = pd.Series([training_seconds(runs_dir / run.removesuffix("+ema")) for run in runs["run"]])
        lines.append(
            f"| `{runs['preset'].iloc[0]}`{averaged} | {budget(info['run'], stats['train']['count'])} | {len(runs)} "
            f"| {minutes(seconds)} | {format_spread(runs['best_fid'], 'fid')} ({epochs}) "
            f"| {format_spread(runs['final_fid'], 'fid')} "
            f"| {', '.join(str(int(classes)) for classes in runs['final_classes_covered'])} |"
        )
    return "\n".join(lines)


def final_grids(folder: Path, out_path: Path, height: int = 260, per_row: int = 4, gap: int = 12) -> None:
    """The last rendered frame of each entry's first run, scaled to one height, per_row to a row, on white."""
    from PIL import Image

    summary = pd.read_csv(folder / "results" / "summary.csv")
    frames = []
    for entry, runs in summary.groupby("entry", sort=False):
        if entry.endswith("+ema"):  # the frames are the generator's own
            continue
        last = sorted((folder / "results" / "runs" / runs["run"].iloc[0] / "frames").glob("epoch_*.png"))[-1]
        with Image.open(last) as frame:
            width = round(frame.width * height / frame.height)
            frames.append(frame.convert("L").resize((width, height), Image.Resampling.LANCZOS))
    rows = [frames[start : start + per_row] for start in range(0, len(frames), per_row)]
    width = max(sum(f.width for f in row) + gap * (len(row) - 1) for row in rows)
    canvas = Image.new("L", (width, len(rows) * (height + gap) - gap), 255)
    for index, row in enumerate(rows):
        x = 0
        for frame in row:
            canvas.paste(frame, (x, index * (height + gap)))
            x += frame.width + gap
    canvas.save(out_path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the workflow folder (snakemake --directory) holding results/")
    parser.add_argument("--grids", type=Path, help="write the entries' last sample grids, side by side, here")
    args = parser.parse_args()
    print(table(args.folder))
    if args.grids:
        final_grids(args.folder, args.grids)
    summary = pd.read_csv(args.folder / "results" / "summary.csv")
    for dataset, runs in summary.groupby("dataset"):
        accuracy = runs["classifier_test_accuracy"].iloc[0]
        floor = runs["fid_floor"].iloc[0]
        print(f"\n{dataset}: classifier accuracy {accuracy:.2%}; FID of real training images {floor:.2f}")


if __name__ == "__main__":
    main()
