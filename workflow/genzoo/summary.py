"""All runs side by side: a tidy score table, one row per run, a markdown leaderboard and plots."""

import json
import math
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from . import files, plots


class Score(NamedTuple):
    column: str
    label: str
    higher_is_better: bool


SCORES = [
    Score("fid", "FID", False),
    Score("kid_mean", "KID", False),
    Score("inception_score", "classifier IS", True),
    Score("precision", "precision", True),
    Score("recall", "recall", True),
    Score("density", "density", True),
    Score("coverage", "coverage", True),
    Score("classes_covered", "classes covered", True),
    Score("kl_to_uniform", "KL to uniform classes", False),
    Score("label_accuracy", "accuracy on requested labels", True),
    Score("test_elbo", "held-out ELBO (VAE)", True),
    Score("test_reconstruction_mse", "reconstruction MSE (VAE)", False),
]


def present(scores: list[Score], frame: pd.DataFrame) -> list[Score]:
    return [score for score in scores if score.column in frame and frame[score.column].notna().any()]


def tidy_scores(metrics: dict[str, pd.DataFrame], infos: dict[str, dict]) -> pd.DataFrame:
    """One row per (run, epoch, metric)."""
    frames = []
    for run, frame in metrics.items():
        columns = [score.column for score in present(SCORES, frame)] + ["kid_std"]
        long = frame.melt(id_vars=["epoch"], value_vars=columns, var_name="metric", value_name="value")
        settings = infos[run]["run"]
        long.insert(0, "run", run)
        long.insert(1, "preset", settings["preset"])
        long.insert(2, "dataset", settings["dataset"])
        frames.append(long)
    return pd.concat(frames, ignore_index=True)


def run_row(metrics: pd.DataFrame, info: dict, reference: dict, entry: str) -> dict:
    """A run's best checkpoint by FID and its last one, every score of both, and where they came from.
    entry: the config entry the run comes from (itself, or the entry whose seeds it is one of)."""
    final = metrics.sort_values("epoch").iloc[-1]
    best = metrics.loc[metrics["fid"].idxmin()]
    run = info["run"]
    row = {
        "run": run["name"],
        "entry": entry,
        "preset": run["preset"],
        "dataset": run["dataset"],
        "epochs": run["epochs"],
        "seed": run["seed"],
        "best_epoch": int(best["epoch"]),
    }
    for score in present(SCORES, metrics) + [Score("kid_std", "", False)]:
        row[f"best_{score.column}"] = best[score.column]
        row[f"final_{score.column}"] = final[score.column]
    return row | {
        "fid_floor": reference["scores"]["fid"],
        "n_generated": int(final["n_generated"]),
        "classifier_test_accuracy": reference["classifier_test_accuracy"],
        "classifier_sha256": reference["classifier_sha256"],
        "train_seconds": round(info["train_seconds"], 1),
        "images_per_s": round(info["images_per_s"], 1),
        "device": info["device"],
    }


def decimals(value: float) -> int:
    """About four significant digits: 354.3, 77.14, 6.341."""
    return 1 if abs(value) >= 100 else 3 if abs(value) < 10 else 2


def format_score(value: float, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column == "classes_covered" and float(value).is_integer():
        return str(int(value))
    return f"{value:.{decimals(value)}f}"


def format_spread(values: pd.Series, column: str) -> str:
    """One run's score, or the mean ± standard deviation of a run's seeds; (n=k) when only k of them have one."""
    valid = values.dropna()
    if valid.empty:
        return "–"
    if len(valid) == 1:
        text = format_score(valid.iloc[0], column)
    else:  # the spread to as many decimals as the mean
        mean, spread = valid.mean(), valid.std(ddof=1)
        text = f"{format_score(mean, column)} ± {spread:.{decimals(mean)}f}"
    return text if len(valid) == len(values) else f"{text} (n={len(valid)})"


LEADERBOARD_INTRO = (
    "Per run, the checkpoint with the lowest FID (and the FID of its last one). A run of several seeds shows "
    "the mean ± standard deviation over its seeds, and their best epochs. Every score compares the same number "
    "of generated and held-out real images in the frozen classifier's feature space; the first row of each "
    "table scores real training images the same way, a reference no generator can be expected to beat."
)
REAL_ROW = "real training images"


class RankedTable(NamedTuple):
    """One dataset's leaderboard: a note on how it was scored, column headers, rows of formatted cells.
    The first row is the real-vs-real reference (run column REAL_ROW), then runs by their best FID."""

    dataset: str
    note: str
    header: list[str]
    rows: list[list[str]]


FIXED_COLUMNS = ["rank", "run", "preset", "seeds", "epoch"]


def entries_by_best_fid(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """A dataset's runs grouped by config entry (seeds of one entry together), best mean FID first."""
    groups = [group for _, group in runs.groupby("entry", sort=False)]

    def order(group):
        mean = group["best_fid"].mean()
        return (math.isnan(mean), mean, group["entry"].iloc[0])  # an entry without a FID last

    return sorted(groups, key=order)


def ranked_tables(table: pd.DataFrame, references: dict[str, dict]) -> list[RankedTable]:
    scores = present(SCORES, table.rename(columns=lambda c: c.removeprefix("best_")))
    columns = [("best_fid", scores[0])] + [("final_fid", Score("fid", "final FID", False))]
    columns += [(f"best_{s.column}", s) for s in scores[1:]]
    header = FIXED_COLUMNS + [f"{s.label} {'↑' if s.higher_is_better else '↓'}" for _, s in columns]
    tables = []
    for dataset, runs in table.groupby("dataset", sort=True):
        reference = references[dataset]
        note = (
            f"{reference['n_real']} generated vs {reference['n_real']} held-out images; the classifier scores "
            f"{reference['classifier_test_accuracy']:.2%} on the {reference['classifier_test_size']:,} test images, "
            f"sha256 {reference['classifier_sha256'][:12]}."
        )
        real = reference["scores"] | {"final_fid": reference["scores"]["fid"]}
        real_cells = [format_score(real.get(key.removeprefix("best_")), s.column) for key, s in columns]
        rows = [["–", REAL_ROW, "–", "–", "–"] + real_cells]
        for rank, group in enumerate(entries_by_best_fid(runs), start=1):
            first = group.iloc[0]
            epochs = ", ".join(str(epoch) for epoch in group["best_epoch"])
            cells = [str(rank), str(first["entry"]), str(first["preset"]), str(len(group)), epochs]
            rows.append(cells + [format_spread(group[key], s.column) if key in group else "–" for key, s in columns])
        tables.append(RankedTable(str(dataset), note, header, rows))
    return tables


def leaderboard(table: pd.DataFrame, references: dict[str, dict]) -> str:
    """Markdown: per dataset, runs ranked by their best checkpoint's FID, under the real-vs-real reference."""
    lines = ["# Leaderboard", "", LEADERBOARD_INTRO]
    for ranked in ranked_tables(table, references):
        lines += ["", f"## {ranked.dataset}", "", ranked.note, ""]
        alignment = "|---:|---|---|---:|---:|" + "---:|" * (len(ranked.header) - len(FIXED_COLUMNS))
        lines += ["| " + " | ".join(ranked.header) + " |", alignment]
        for cells in ranked.rows:
            run = f"*{cells[1]}*" if cells[1] == REAL_ROW else f"`{cells[1]}`"
            lines.append("| " + " | ".join([cells[0], run, *cells[2:]]) + " |")
    return "\n".join(lines) + "\n"


def load_references(paths: list[str]) -> dict[str, dict]:
    """The real-vs-real scores, keyed by their dataset (the name of the folder each file is in)."""
    return {Path(path).parent.name: json.loads(Path(path).read_text()) for path in paths}


def summarize(
    metrics_csvs: list[str],
    info_paths: list[str],
    reference_paths: list[str],
    table_path: str,
    scores_path: str,
    leaderboard_path: str,
    plot_paths: dict[str, str],
    entries: dict[str, str] | None = None,
) -> pd.DataFrame:
    """metrics_csvs and info_paths are in the same run order; references are keyed by their dataset's folder.

    plot_paths: 'fid', 'classes_covered', 'metrics' (every score by epoch) and 'comparison' (best checkpoints).
    entries: run -> the config entry it is a seed of (by default each run is its own entry).
    """
    references = load_references(reference_paths)
    infos, metrics = {}, {}
    for metrics_csv, info_path in zip(metrics_csvs, info_paths, strict=True):
        info = json.loads(Path(info_path).read_text())
        infos[info["run"]["name"]] = info
        metrics[info["run"]["name"]] = pd.read_csv(metrics_csv)
    entries = entries or {}
    rows = [
        run_row(metrics[run], infos[run], references[infos[run]["run"]["dataset"]], entries.get(run, run))
        for run in metrics
    ]
    table = pd.DataFrame(rows)
    files.write_csv(table_path, table)
    files.write_csv(scores_path, tidy_scores(metrics, infos))
    files.write_text(leaderboard_path, leaderboard(table, references))

    floors = {f"real vs real ({name})": r["scores"]["fid"] for name, r in references.items()}
    # FID spans orders of magnitude between a first epoch and the real-vs-real floor.
    plots.plot_metric_by_epoch(metrics_csvs, "fid", plot_paths["fid"], floors, log_scale=True, entries=entries)
    plots.plot_metric_by_epoch(metrics_csvs, "classes_covered", plot_paths["classes_covered"], entries=entries)
    all_metrics = pd.concat(metrics.values(), ignore_index=True)
    scores = present(SCORES, all_metrics)
    real = {name: r["scores"] for name, r in references.items()}
    plots.plot_scores_by_epoch(metrics, scores, real, plot_paths["metrics"], entries=entries)
    plots.plot_best_checkpoints(table, scores, real, plot_paths["comparison"])
    return table
