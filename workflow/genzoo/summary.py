"""One table and two plots across all runs: final and best scores, and scores by epoch."""

import json
from pathlib import Path

import pandas as pd

from . import io, plots


def run_row(metrics: pd.DataFrame, info: dict, classifier: dict) -> dict:
    final = metrics.sort_values("epoch").iloc[-1]
    best = metrics.loc[metrics["fid"].idxmin()]
    run = info["run"]
    return {
        "run": run["name"],
        "preset": run["preset"],
        "dataset": run["dataset"],
        "epochs": run["epochs"],
        "seed": run["seed"],
        "final_fid": final["fid"],
        "best_fid": best["fid"],
        "best_epoch": int(best["epoch"]),
        "final_classes_covered": int(final["classes_covered"]),
        "final_kl_to_uniform": final["kl_to_uniform"],
        "fid_floor": classifier["fid_floor"],
        "classifier_test_accuracy": classifier["test_accuracy"],
        "train_seconds": round(info["train_seconds"], 1),
        "images_per_s": round(info["images_per_s"], 1),
        "device": info["device"],
    }


def summarize(
    metrics_csvs: list[str],
    info_paths: list[str],
    classifier_info_paths: list[str],
    table_path: str,
    fid_plot_path: str,
    coverage_plot_path: str,
) -> pd.DataFrame:
    """metrics_csvs and info_paths are in the same run order; classifiers are keyed by their folder name."""
    classifiers = {Path(path).parent.name: json.loads(Path(path).read_text()) for path in classifier_info_paths}
    rows = []
    for metrics_csv, info_path in zip(metrics_csvs, info_paths, strict=True):
        info = json.loads(Path(info_path).read_text())
        rows.append(run_row(pd.read_csv(metrics_csv), info, classifiers[info["run"]["dataset"]]))
    table = pd.DataFrame(rows)
    io.write_csv(table_path, table)
    floors = {f"real vs real ({name})": c["fid_floor"] for name, c in classifiers.items()}
    # FID spans orders of magnitude between a first epoch and the real-vs-real floor.
    plots.plot_metric_by_epoch(metrics_csvs, "fid", fid_plot_path, floors, log_scale=True)
    plots.plot_metric_by_epoch(metrics_csvs, "classes_covered", coverage_plot_path)
    return table
