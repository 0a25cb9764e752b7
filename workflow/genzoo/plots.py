"""Plots of training and scores (matplotlib, Agg backend: no display needed)."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from . import io  # noqa: E402


def save_figure(figure, path: str | Path) -> None:
    with io.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def plot_losses(step_losses_csv: str, epoch_losses_csv: str, out_path: str, title: str) -> None:
    """Per-step losses (faint) under their per-epoch means, one panel per loss."""
    steps, epochs = pd.read_csv(step_losses_csv), pd.read_csv(epoch_losses_csv)
    names = [c for c in steps.columns if c not in ("epoch", "step")]
    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        axis.plot(steps["step"], steps[name], lw=0.5, alpha=0.35, label="per step")
        axis.plot(epochs["step"], epochs[name], marker="o", ms=3, label="epoch mean")
        axis.set(title=name, xlabel="step")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(title)
    save_figure(figure, out_path)


def plot_metric_by_epoch(
    metrics_csvs: list[str], metric: str, out_path: str, floor: dict[str, float] | None = None, log_scale: bool = False
) -> None:
    """One line per run; a dashed line per real-vs-real floor where given (label -> value)."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for path in metrics_csvs:
        frame = pd.read_csv(path)
        axis.plot(frame["epoch"], frame[metric], marker="o", ms=3, label=frame["run"].iloc[0])
    for label, value in (floor or {}).items():
        axis.axhline(value, ls="--", lw=1, color="grey", label=label)
    if log_scale:
        axis.set_yscale("log")
    axis.set(xlabel="epoch", ylabel=metric, title=f"{metric} by epoch")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save_figure(figure, out_path)


def panel_grid(count: int, columns: int = 4, size: tuple[float, float] = (3.6, 2.8)):
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def score_title(score) -> str:
    return f"{score.label} ({'higher' if score.higher_is_better else 'lower'} is better)"


def plot_scores_by_epoch(metrics: dict[str, pd.DataFrame], scores: list, real: dict[str, dict], out_path: str) -> None:
    """One panel per score, one line per run; dashed: real training images scored the same way, per dataset."""
    figure, axes = panel_grid(len(scores))
    for axis, score in zip(axes, scores, strict=True):
        for index, (run, frame) in enumerate(metrics.items()):
            if score.column in frame and frame[score.column].notna().any():  # a run's colour is the same everywhere
                axis.plot(frame["epoch"], frame[score.column], marker="o", ms=2.5, color=f"C{index}", label=run)
        for dataset, reference in real.items():
            if score.column in reference:
                axis.axhline(reference[score.column], ls="--", lw=1, color="grey", label=f"real ({dataset})")
        if score.column == "fid":
            axis.set_yscale("log")
        axis.set(title=score_title(score), xlabel="epoch")
        axis.title.set_fontsize(9)
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, bbox_to_anchor=(0.5, -0.02)
    )
    figure.suptitle("every score of every checkpoint")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(figure, out_path)


def plot_best_checkpoints(table: pd.DataFrame, scores: list, real: dict[str, dict], out_path: str) -> None:
    """One panel per score: a bar per run at its best checkpoint by FID; dashed: the real-vs-real reference."""
    figure, axes = panel_grid(len(scores), size=(4.4, 0.9 + 0.32 * len(table)))
    labels = [f"{row.run} (epoch {row.best_epoch})" for row in table.itertuples()]
    for axis, score in zip(axes, scores, strict=True):
        values = table[f"best_{score.column}"]
        axis.barh(range(len(table)), values, color=[f"C{i}" for i in range(len(table))])
        axis.set_yticks(range(len(table)), labels, fontsize=8)
        axis.invert_yaxis()
        for reference in real.values():
            if score.column in reference:
                axis.axvline(reference[score.column], ls="--", lw=1, color="grey")
        axis.set_title(score_title(score), fontsize=9)
        axis.grid(alpha=0.3, axis="x")
    figure.suptitle("best checkpoint of each run (dashed: real training images)")
    figure.tight_layout()
    save_figure(figure, out_path)
