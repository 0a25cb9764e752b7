"""Plots of training and scores (matplotlib, Agg backend: no display needed)."""

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
