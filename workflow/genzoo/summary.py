"""All runs side by side: a tidy score table, one row per run, a markdown leaderboard and plots."""

import json
import math
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from . import io, plots


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


def run_row(metrics: pd.DataFrame, info: dict, reference: dict) -> dict:
    """A run's best checkpoint by FID and its last one, every score of both, and where they came from."""
    final = metrics.sort_values("epoch").iloc[-1]
    best = metrics.loc[metrics["fid"].idxmin()]
    run = info["run"]
    row = {
        "run": run["name"],
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


def format_score(value: float, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column == "classes_covered":
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


LEADERBOARD_INTRO = (
    "Per run, the checkpoint with the lowest FID. Every score compares the same number of generated and "
    "held-out real images in the frozen classifier's feature space; the first row of each table scores real "
    "training images the same way, a reference no generator can be expected to beat."
)
REAL_ROW = "real training images"


class RankedTable(NamedTuple):
    """One dataset's leaderboard: a note on how it was scored, column headers, rows of formatted cells.
    The first row is the real-vs-real reference (run column REAL_ROW), then runs by their best FID."""

    dataset: str
    note: str
    header: list[str]
    rows: list[list[str]]


def ranked_tables(table: pd.DataFrame, references: dict[str, dict]) -> list[RankedTable]:
    scores = present(SCORES, table.rename(columns=lambda c: c.removeprefix("best_")))
    header = ["rank", "run", "preset", "epoch"] + [f"{s.label} {'↑' if s.higher_is_better else '↓'}" for s in scores]
    tables = []
    for dataset, runs in table.groupby("dataset", sort=True):
        reference = references[dataset]
        note = (
            f"{reference['n_real']} generated vs {reference['n_real']} held-out images; classifier accuracy "
            f"{reference['classifier_test_accuracy']:.1%}, sha256 {reference['classifier_sha256'][:12]}."
        )
        real = reference["scores"]
        rows = [["–", REAL_ROW, "–", "–"] + [format_score(real.get(s.column), s.column) for s in scores]]
        for rank, row in enumerate(runs.sort_values("best_fid").itertuples(index=False), start=1):
            row = row._asdict()
            cells = [str(rank), row["run"], row["preset"], str(row["best_epoch"])]
            rows.append(cells + [format_score(row.get(f"best_{s.column}"), s.column) for s in scores])
        tables.append(RankedTable(str(dataset), note, header, rows))
    return tables


def leaderboard(table: pd.DataFrame, references: dict[str, dict]) -> str:
    """Markdown: per dataset, runs ranked by their best checkpoint's FID, under the real-vs-real reference."""
    lines = ["# Leaderboard", "", LEADERBOARD_INTRO]
    for ranked in ranked_tables(table, references):
        lines += ["", f"## {ranked.dataset}", "", ranked.note, ""]
        lines += ["| " + " | ".join(ranked.header) + " |", "|---:|---|---|---:|" + "---:|" * (len(ranked.header) - 4)]
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
) -> pd.DataFrame:
    """metrics_csvs and info_paths are in the same run order; references are keyed by their dataset's folder.

    plot_paths: 'fid', 'classes_covered', 'metrics' (every score by epoch) and 'comparison' (best checkpoints).
    """
    references = load_references(reference_paths)
    infos, metrics = {}, {}
    for metrics_csv, info_path in zip(metrics_csvs, info_paths, strict=True):
        info = json.loads(Path(info_path).read_text())
        infos[info["run"]["name"]] = info
        metrics[info["run"]["name"]] = pd.read_csv(metrics_csv)
    rows = [run_row(metrics[run], infos[run], references[infos[run]["run"]["dataset"]]) for run in metrics]
    table = pd.DataFrame(rows)
    io.write_csv(table_path, table)
    io.write_csv(scores_path, tidy_scores(metrics, infos))
    io.write_text(leaderboard_path, leaderboard(table, references))

    floors = {f"real vs real ({name})": r["scores"]["fid"] for name, r in references.items()}
    # FID spans orders of magnitude between a first epoch and the real-vs-real floor.
    plots.plot_metric_by_epoch(metrics_csvs, "fid", plot_paths["fid"], floors, log_scale=True)
    plots.plot_metric_by_epoch(metrics_csvs, "classes_covered", plot_paths["classes_covered"])
    all_metrics = pd.concat(metrics.values(), ignore_index=True)
    scores = present(SCORES, all_metrics)
    real = {name: r["scores"] for name, r in references.items()}
    plots.plot_scores_by_epoch(metrics, scores, real, plot_paths["metrics"])
    plots.plot_best_checkpoints(table, scores, real, plot_paths["comparison"])
    return table
