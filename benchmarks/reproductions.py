"""docs/reproductions.md's table, from the workflow folders that ran config/mnist.yaml or config/fashion.yaml.

    python benchmarks/reproductions.py DIR [DIR ...] [--grids OUT.png] [--curves OUT.png]

Per config entry (a preset at its reference's budget, over its seeds): the budget as epochs x batches of
B = optimizer steps, the seeds, the minutes of training per seed (the epochs' own time, over every attempt),
the best checkpoint's FID (mean ± std over seeds, and the epochs it came from), the last checkpoint's FID and
classes covered; then per dataset the
classifier's test accuracy and the real-vs-real FID. It reads results/summary.csv, so the summary must be
made first (with `select`, for the entries that have finished). --grids writes the last sample grid of each
entry's first seed side by side, at one height, as one PNG; --curves every score of every checkpoint by epoch, an
entry's seeds in one colour, beside real images scored the same way (a folder's results/plots/metrics.png, drawn
over all the folders given; several datasets share it, their runs and entries named dataset/name, each dataset's
real images dashed its own way).

Seeds that ran in several folders (one machine each, or one session each) count as one entry's seeds when the
folders are given together: each run's files are read from its own folder. Their scores must be on one scale, so
folders whose runs of a dataset were scored by different classifiers, or against other numbers of samples, are
refused, as are an entry's runs of other presets or epochs and a seed found in two folders. Several datasets give a
table each.
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
from genzoo.summary import (  # noqa: E402
    is_moving_average,
    moving_average_scores,
    plot_every_score,
    trained_run,
    training_time,
)


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


def load_summaries(folders: list[Path]) -> pd.DataFrame:
    """The folders' summary.csv rows as one table, each row with its folder, an entry's runs in seed order."""
    tables = []
    for folder in folders:
        path = folder / "results" / "summary.csv"
        if not path.is_file():
            raise SystemExit(f"{path}: no summary here; make it first (snakemake results/summary.csv with the config)")
        tables.append(pd.read_csv(path, dtype={"classifier_sha256": str}).assign(folder=folder))  # a hash, not a number
    summary = pd.concat(tables, ignore_index=True)
    refuse_seeds_found_twice(summary)
    refuse_other_scales(summary)
    refuse_other_budgets(summary)
    key = summary["dataset"] + "/" + summary["entry"]
    first_seen = key.map({name: index for index, name in enumerate(key.unique())})
    return summary.assign(first_seen=first_seen).sort_values(["first_seen", "seed"], kind="stable")


def where(rows: pd.DataFrame, column: str) -> str:
    """Each value of the column, with the folders it came from."""
    return "; ".join(
        f"{value} in {', '.join(map(str, group['folder'].unique()))}"
        for value, group in rows.groupby(column, dropna=False, sort=False)
    )


def refuse_seeds_found_twice(summary: pd.DataFrame) -> None:
    for (dataset, entry, seed), rows in summary.groupby(["dataset", "entry", "seed"], sort=False):
        if len(rows) > 1:
            raise SystemExit(
                f"{dataset}: seed {seed} of {entry} is in {' and '.join(map(str, rows['folder']))}: give one of those "
                "folders only"
            )


def refuse_other_scales(summary: pd.DataFrame) -> None:
    """One dataset's scores compare only when one classifier scored the same number of samples for each run."""
    for dataset, rows in summary.groupby("dataset", sort=False):
        for column, what in (("classifier_sha256", "classifiers"), ("n_generated", "numbers of samples")):
            if rows[column].nunique(dropna=False) > 1:
                raise SystemExit(
                    f"{dataset}: the folders' runs were scored with different {what} ({column}: "
                    f"{where(rows, column)}), so their scores are not on one scale; score them alike (a config that "
                    "pins the classifier, one n_samples)"
                )


def refuse_other_budgets(summary: pd.DataFrame) -> None:
    """An entry's seeds are one reproduction only when they ran the same preset for the same epochs."""
    for (dataset, entry), rows in summary.groupby(["dataset", "entry"], sort=False):
        for column in ("preset", "epochs"):
            if rows[column].nunique(dropna=False) > 1:
                raise SystemExit(
                    f"{dataset}: the runs of {entry} differ in {column} ({where(rows, column)}), so they are not "
                    "seeds of one reproduction"
                )


def table(summary: pd.DataFrame) -> str:
    """One table per dataset, each under its name when there are several."""
    tables = []
    for dataset, rows in summary.groupby("dataset", sort=False):
        heading = [f"{dataset}:", ""] if summary["dataset"].nunique() > 1 else []
        tables.append("\n".join(heading + dataset_table(rows)))
    return "\n\n".join(tables)


def dataset_table(summary: pd.DataFrame) -> list[str]:
    lines = [
        "| preset | budget: epochs × batches = steps | seeds | minutes per seed | best FID (epochs) "
        "| final FID | classes covered (final, per seed) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for entry, runs in summary.groupby("entry", sort=False):
        folder = runs["folder"].iloc[0]
        trained = trained_run(runs["run"].iloc[0])
        info = json.loads((folder / "results" / "runs" / trained / "train_info.json").read_text())
        stats = json.loads((folder / "results" / "data" / info["run"]["dataset"] / "stats.json").read_text())
        epochs = ", ".join(str(epoch) for epoch in runs["best_epoch"])
        averaged = f", moving average {info['run']['ema']}" if is_moving_average(entry) else ""
        seconds = pd.Series(
            [
                training_seconds(run_folder / "results" / "runs" / trained_run(run))
                for run, run_folder in zip(runs["run"], runs["folder"], strict=True)
            ]
        )
        lines.append(
            f"| `{runs['preset'].iloc[0]}`{averaged} | {budget(info['run'], stats['train']['count'])} | {len(runs)} "
            f"| {minutes(seconds)} | {format_spread(runs['best_fid'], 'fid')} ({epochs}) "
            f"| {format_spread(runs['final_fid'], 'fid')} "
            f"| {', '.join(str(int(classes)) for classes in runs['final_classes_covered'])} |"
        )
    return lines


def final_grids(summary: pd.DataFrame, out_path: Path, height: int = 260, per_row: int = 4, gap: int = 12) -> None:
    """The last rendered frame of each entry's first run, scaled to one height, per_row to a row, on white."""
    from PIL import Image

    frames = []
    for (_, entry), runs in summary.groupby(["dataset", "entry"], sort=False):
        if is_moving_average(entry):  # the frames are the generator's own
            continue
        first = runs.iloc[0]
        last = sorted((first["folder"] / "results" / "runs" / first["run"] / "frames").glob("epoch_*.png"))[-1]
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


def score_curves(summary: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every checkpoint's scores per run and the entry each run is a seed of; with several datasets both are named
    dataset/name, as their configs' entries share names."""
    several = summary["dataset"].nunique() > 1
    metrics, entries = {}, {}
    for dataset, entry, run, folder in zip(
        summary["dataset"], summary["entry"], summary["run"], summary["folder"], strict=True
    ):
        name = f"{dataset}/{run}" if several else run
        scores = pd.read_csv(folder / "results" / "runs" / trained_run(run) / "metrics.csv")
        metrics[name] = moving_average_scores(scores) if is_moving_average(run) else scores
        entries[name] = f"{dataset}/{entry}" if several else entry
    return metrics, entries


def real_scores(summary: pd.DataFrame) -> dict[str, dict]:
    """Each dataset's real-vs-real scores, from the first folder given that holds the dataset (the rows' index is the
    order they were read in): its folders' runs were all scored by one classifier at one sample size
    (refuse_other_scales)."""
    first = summary.sort_index().drop_duplicates("dataset")
    return {
        dataset: json.loads((folder / "results" / "classifiers" / dataset / "real_scores.json").read_text())["scores"]
        for dataset, folder in zip(first["dataset"], first["folder"], strict=True)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "folders", type=Path, nargs="+", help="the workflow folders (snakemake --directory) holding results/"
    )
    parser.add_argument("--grids", type=Path, help="write the entries' last sample grids, side by side, here")
    parser.add_argument("--curves", type=Path, help="write every score of every checkpoint by epoch, all seeds, here")
    args = parser.parse_args()
    summary = load_summaries(args.folders)
    print(table(summary))
    if args.grids:
        final_grids(summary, args.grids)
    if args.curves:
        metrics, entries = score_curves(summary)
        plot_every_score(metrics, real_scores(summary), str(args.curves), entries)
    for dataset, runs in summary.groupby("dataset"):
        accuracy = runs["classifier_test_accuracy"].iloc[0]
        floor = runs["fid_floor"].iloc[0]
        print(f"\n{dataset}: classifier accuracy {accuracy:.2%}; FID of real training images {floor:.2f}")


if __name__ == "__main__":
    main()
