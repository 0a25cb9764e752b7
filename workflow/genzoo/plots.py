"""Plots of training and scores (matplotlib, Agg backend: no display needed)."""

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from . import files  # noqa: E402
from .scores import score_title  # noqa: E402


def save_figure(figure, path: str | Path) -> None:
    with files.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


LOSS_TITLES = {  # the loss tables' columns, as a reader names them
    "g_loss": "generator loss",
    "d_loss": "discriminator (critic) loss",
    "gradient_penalty": "gradient penalty",
    # A VAE's terms as the run's training loss weighs them, whichever it is (the books' editions weigh them apart).
    "loss": "VAE loss (the preset's)",
    "reconstruction": "reconstruction term (pixel BCE)",
    "kl": "KL term",
}


def plot_losses(step_losses_csv: str, epoch_losses_csv: str, out_path: str, run: str) -> None:
    """Per-step losses (faint) under their per-epoch means, one panel per loss."""
    steps, epochs = pd.read_csv(step_losses_csv), pd.read_csv(epoch_losses_csv)
    names = [c for c in steps.columns if c not in ("epoch", "step")]
    # Constrained layout keeps the figure's title clear of the panels' titles.
    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False, layout="constrained")
    for axis, name in zip(axes[0], names, strict=True):
        axis.plot(steps["step"], steps[name], lw=0.5, alpha=0.35, label="per step")
        axis.plot(epochs["step"], epochs[name], marker="o", ms=3, label="epoch mean")
        axis.set(title=LOSS_TITLES.get(name, name.replace("_", " ")), xlabel="training step", ylabel="loss")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.suptitle(f"Losses of run {run}")
    save_figure(figure, out_path)


# tab10 (matplotlib's default C0..C9) first, then tab20's lighter partners of those: 20 colours apart at a glance.
# C10 would wrap back to C0, and config files list more than 10 entries.
TAB20 = plt.colormaps["tab20"].colors
ENTRY_COLOURS = [to_hex(colour) for colour in TAB20[0::2] + TAB20[1::2]]
# Every further round of the colours draws its lines with other dashes and markers, so no two entries look alike.
ENTRY_LINES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D")]


def entry_look(index: int) -> dict:
    """Line keywords of the index-th entry: a (colour, dashes and marker) no other of the first 80 has."""
    rounds, colour = divmod(index, len(ENTRY_COLOURS))
    linestyle, marker = ENTRY_LINES[rounds % len(ENTRY_LINES)]
    return {"color": ENTRY_COLOURS[colour], "ls": linestyle, "marker": marker}


class EntryStyle:
    """One look per config entry, so the seeds of one entry read as one family of lines; one legend label each."""

    def __init__(self, runs: list[str], entries: dict[str, str] | None = None):
        self.entries = {run: (entries or {}).get(run, run) for run in runs}
        order = list(dict.fromkeys(self.entries.values()))
        self.look = {entry: entry_look(index) for index, entry in enumerate(order)}
        self.seeds = {entry: list(self.entries.values()).count(entry) for entry in order}
        self.labelled: set[tuple[int, str]] = set()

    def __call__(self, axis, run: str) -> dict:
        """Line keywords for run on axis: its entry's look, and the entry's label the first time only."""
        entry = self.entries[run]
        first = (id(axis), entry) not in self.labelled
        self.labelled.add((id(axis), entry))
        label = entry if self.seeds[entry] == 1 else f"{entry} ({self.seeds[entry]} seeds)"
        return self.look[entry] | {"label": label if first else "_nolegend_"}


# Real images scored the same way: black, dashed otherwise per dataset, so two datasets' lines read apart.
REAL_DASHES = ["--", ":", "-.", (0, (6, 2, 1, 2, 1, 2))]


def real_line(index: int) -> dict:
    """Line keywords for the index-th dataset's real images."""
    return {"ls": REAL_DASHES[index % len(REAL_DASHES)], "lw": 1.3, "color": "black", "alpha": 0.75}


def plot_metric_by_epoch(
    metrics_csvs: list[str],
    score,
    out_path: str,
    real: dict[str, float] | None = None,
    log_scale: bool = False,
    entries: dict[str, str] | None = None,
) -> None:
    """One line per run (the seeds of an entry in one colour); a dashed line per dataset's real images scored the
    same way (dataset -> value). score: a scores.Score, which names the title and the axis."""
    figure, axis = plt.subplots(figsize=(6.5, 4))
    frames = [pd.read_csv(path) for path in metrics_csvs]
    style = EntryStyle([frame["run"].iloc[0] for frame in frames], entries)
    for frame in frames:
        axis.plot(frame["epoch"], frame[score.column], ms=3, **style(axis, frame["run"].iloc[0]))
    for index, (dataset, value) in enumerate((real or {}).items()):
        axis.axhline(value, **real_line(index), label=f"real images ({dataset})")
    if log_scale:
        axis.set_yscale("log")
    axis.set(xlabel="epoch", ylabel=score.label, title=f"{score_title(score)}, by epoch")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save_figure(figure, out_path)


def panel_grid(count: int, columns: int = 4, size: tuple[float, float] = (3.6, 2.8)):
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def plot_scores_by_epoch(
    metrics: dict[str, pd.DataFrame],
    scores: list,
    real: dict[str, dict],
    out_path: str,
    entries: dict[str, str] | None = None,
) -> None:
    """One panel per score, one line per run; dashed: real training images scored the same way, per dataset."""
    figure, axes = panel_grid(len(scores))
    style = EntryStyle(list(metrics), entries)
    for axis, score in zip(axes, scores, strict=True):
        for run, frame in metrics.items():
            if score.column in frame and frame[score.column].notna().any():  # an entry's look is the same everywhere
                axis.plot(frame["epoch"], frame[score.column], ms=2.5, **style(axis, run))
        for index, (dataset, reference) in enumerate(real.items()):
            if score.column in reference:
                axis.axhline(reference[score.column], **real_line(index), label=f"real images ({dataset})")
        if score.column == "fid":
            axis.set_yscale("log")
        axis.set(title=score_title(score), xlabel="epoch")
        axis.title.set_fontsize(9)
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8, bbox_to_anchor=(0.5, -0.02)
    )
    figure.suptitle("Every score of every checkpoint")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    save_figure(figure, out_path)


def plot_best_checkpoints(table: pd.DataFrame, scores: list, real: dict[str, dict], out_path: str) -> None:
    """One panel per score: a bar per config entry at its runs' best checkpoints by FID (the mean over its seeds,
    with their standard deviation and each seed as a dot); dashed: the real-vs-real reference."""
    groups = [group for _, group in table.groupby("entry", sort=False)]
    figure, axes = panel_grid(len(scores), size=(4.4, 0.9 + 0.32 * len(groups)))
    labels = [
        f"{group['entry'].iloc[0]} (epoch {group['best_epoch'].iloc[0]})"
        if len(group) == 1
        else f"{group['entry'].iloc[0]} ({len(group)} seeds)"
        for group in groups
    ]
    colours = [entry_look(index)["color"] for index in range(len(groups))]
    for axis, score in zip(axes, scores, strict=True):
        values = [group[f"best_{score.column}"] for group in groups]
        spread = [v.std(ddof=1) if v.notna().sum() > 1 else float("nan") for v in values]  # NaN: no error bar
        means = [v.mean() for v in values]
        # A bar from 0 means nothing for a score such as the ELBO: a mean dot and its spread. The lowest mean of the
        # entries that have the score (pandas skips the NaN of the others, such as a GAN's ELBO; min() would not).
        if pd.Series(means).min() < 0:
            for position, (mean, std, colour) in enumerate(zip(means, spread, colours, strict=True)):
                if not math.isnan(mean):  # an entry without the score gets no dot
                    axis.errorbar(mean, position, xerr=std, fmt="s", ms=6, color=colour, capsize=3)
        else:
            axis.barh(range(len(groups)), means, xerr=spread, color=colours, capsize=3)
        for position, v in enumerate(values):
            if len(v) > 1:
                axis.plot(v, [position] * len(v), "o", ms=3, color="black", alpha=0.6)
        axis.set_yticks(range(len(groups)), labels, fontsize=8)
        axis.invert_yaxis()
        for index, reference in enumerate(real.values()):
            if score.column in reference:
                axis.axvline(reference[score.column], **real_line(index))
        axis.set_title(score_title(score), fontsize=9)
        axis.grid(alpha=0.3, axis="x")
    figure.suptitle("Best checkpoint of each run: mean ± std over seeds, dots: single seeds (dashed: real images)")
    figure.tight_layout()
    save_figure(figure, out_path)
