"""All runs side by side: a tidy score table, one row per run, a markdown leaderboard and plots."""

import json
from pathlib import Path

import pandas as pd

from . import files, plots
from .scores import FIXED_COLUMNS, LEADERBOARD_INTRO, REAL_ROW, SCORES, Score, load_references, present, ranked_tables


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


MOVING_AVERAGE = "+ema"  # a run's moving average of its generator competes as the run's name with this suffix


def trained_run(name: str) -> str:
    """The run whose checkpoints a summary row was scored from: a moving average's run, else the row's own."""
    return name.removesuffix(MOVING_AVERAGE)


def is_moving_average(name: str) -> bool:
    return name.endswith(MOVING_AVERAGE)


def moving_average_scores(metrics: pd.DataFrame) -> pd.DataFrame:
    """A run's ema_* scores as the scores of a run: the columns without their prefix, by the same epochs."""
    averaged = {column.removeprefix("ema_"): metrics[column] for column in metrics if column.startswith("ema_")}
    return pd.DataFrame({"epoch": metrics["epoch"], "n_generated": metrics["n_generated"], **averaged})


def training_time(epoch_losses: pd.DataFrame) -> dict:
    """The run's training seconds and images per second over its epochs' own times: every attempt of a run that was
    stopped and resumed, or continued to more epochs (as train_info.json counts them too, but not the one that
    training code before the `adam` setting wrote, which timed its last attempt alone)."""
    seconds = float(epoch_losses["seconds"].sum())
    images = float((epoch_losses["seconds"] * epoch_losses["images_per_s"]).sum())
    return {"train_seconds": round(seconds, 1), "images_per_s": round(images / seconds, 1) if seconds else 0.0}


def plot_every_score(
    metrics: dict[str, pd.DataFrame], real: dict[str, dict], out_path: str, entries: dict[str, str]
) -> list[Score]:
    """Every score any run has, by epoch (plots.plot_scores_by_epoch); returns those scores."""
    scores = present(SCORES, pd.concat(metrics.values(), ignore_index=True))
    plots.plot_scores_by_epoch(metrics, scores, real, out_path, entries=entries)
    return scores


def run_row(metrics: pd.DataFrame, info: dict, epoch_losses: pd.DataFrame, reference: dict, entry: str) -> dict:
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
        **training_time(epoch_losses),
        "device": info["device"],
        # The GPU, or else the CPU, that trained its epochs (train_info.json written by older code does not say).
        "hardware": " + ".join(info.get("hardware", [])),
    }


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


def summarize(
    metrics_csvs: list[str],
    info_paths: list[str],
    epoch_losses_csvs: list[str],
    reference_paths: list[str],
    table_path: str,
    scores_path: str,
    leaderboard_path: str,
    plot_paths: dict[str, str],
    entries: dict[str, str] | None = None,
) -> pd.DataFrame:
    """metrics_csvs, info_paths and epoch_losses_csvs are in the same run order; references are keyed by their
    dataset's folder.

    plot_paths: 'fid', 'classes_covered', 'metrics' (every score by epoch) and 'comparison' (best checkpoints).
    entries: run -> the config entry it is a seed of (by default each run is its own entry).
    """
    references = load_references(reference_paths)
    infos, metrics, epoch_losses = {}, {}, {}
    for metrics_csv, info_path, losses_csv in zip(metrics_csvs, info_paths, epoch_losses_csvs, strict=True):
        info = json.loads(Path(info_path).read_text())
        infos[info["run"]["name"]] = info
        metrics[info["run"]["name"]] = pd.read_csv(metrics_csv)
        epoch_losses[info["run"]["name"]] = pd.read_csv(losses_csv)
    entries = dict(entries or {})
    for run in list(metrics):  # a run's moving average of its generator competes as a run of its own
        if "ema_fid" in metrics[run]:
            name = f"{run}{MOVING_AVERAGE}"
            metrics[name] = moving_average_scores(metrics[run])
            infos[name] = infos[run] | {"run": infos[run]["run"] | {"name": name}}
            epoch_losses[name] = epoch_losses[run]
            entries[name] = f"{entries.get(run, run)}{MOVING_AVERAGE}"
    rows = [
        run_row(
            metrics[run], infos[run], epoch_losses[run], references[infos[run]["run"]["dataset"]], entries.get(run, run)
        )
        for run in metrics
    ]
    table = pd.DataFrame(rows)
    files.write_csv(table_path, table)
    files.write_csv(scores_path, tidy_scores(metrics, infos))
    files.write_text(leaderboard_path, leaderboard(table, references))

    by_column = {score.column: score for score in SCORES}
    for column, log_scale in (("fid", True), ("classes_covered", False)):  # FID spans orders of magnitude
        real_values = {name: r["scores"][column] for name, r in references.items() if column in r["scores"]}
        plots.plot_metric_by_epoch(
            metrics_csvs, by_column[column], plot_paths[column], real_values, log_scale=log_scale, entries=entries
        )
    real = {name: r["scores"] for name, r in references.items()}
    scores = plot_every_score(metrics, real, plot_paths["metrics"], entries)
    plots.plot_best_checkpoints(table, scores, real, plot_paths["comparison"])
    return table
