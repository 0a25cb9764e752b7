"""A run's losses beside those its reference script printed: are the two trainings in the same regime?

    python benchmarks/reference_losses.py --runs results/runs/pytorch-gan-seed1 ... \
        --references gan-seed1.log ... [--window 20] [--out losses-vs-reference.png]

A reference log is what a PyTorch-GAN script prints, a line `[Epoch e/E] [Batch b/B] [D loss: d] [G loss: g]` per
batch it reports (every batch, or every k-th: a sample, unbiased within an epoch); a run's are its
losses_epochs.csv (every step's mean per epoch; a run still training: its finished epochs). Prints, per window of
`--window` epochs, each source's mean D and G loss as a Markdown table, and draws both losses by epoch, references
dashed.
"""

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

LINE = re.compile(r"\[Epoch (\d+)/\d+\] \[Batch \d+/\d+\] \[D loss: ([-\d.e+]+)\] \[G loss: ([-\d.e+]+)\]")


def reference_losses(log: Path) -> pd.DataFrame:
    """Per epoch (counted from 1, as the workflow counts), the mean of the D and G losses the log reports."""
    rows = [
        (int(match[1]) + 1, float(match[2]), float(match[3]))
        for match in map(LINE.search, log.read_text().splitlines())
        if match
    ]
    if not rows:
        raise SystemExit(f"{log}: no line of the form [Epoch e/E] [Batch b/B] [D loss: d] [G loss: g]")
    frame = pd.DataFrame(rows, columns=["epoch", "d_loss", "g_loss"])
    return frame.groupby("epoch", as_index=False).mean()


def run_losses(run_folder: Path) -> pd.DataFrame:
    """A finished run's epoch table, or a running one's finished epochs (the step losses its resume state keeps)."""
    if (run_folder / "losses_epochs.csv").exists():
        return pd.read_csv(run_folder / "losses_epochs.csv")[["epoch", "d_loss", "g_loss"]]
    steps = pd.read_csv(run_folder / "resume" / "losses_steps.csv")
    return steps.groupby("epoch", as_index=False)[["d_loss", "g_loss"]].mean()


def windowed(losses: pd.DataFrame, window: int) -> pd.DataFrame:
    """Mean losses over epochs 1..window, window+1..2*window, ...; indexed by each window's last epoch."""
    last = ((losses["epoch"] - 1) // window + 1) * window
    return losses.groupby(last)[["d_loss", "g_loss"]].mean()


def table(sources: dict[str, pd.DataFrame], window: int) -> str:
    means = {name: windowed(losses, window) for name, losses in sources.items()}
    ends = sorted(set().union(*(frame.index for frame in means.values())))
    lines = ["| epochs | " + " | ".join(f"{name}: D, G" for name in means) + " |"]
    lines.append("|---|" + "---:|" * len(means))
    for end in ends:
        cells = [
            f"{frame.loc[end, 'd_loss']:.3f}, {frame.loc[end, 'g_loss']:.2f}" if end in frame.index else ""
            for frame in means.values()
        ]
        lines.append(f"| {end - window + 1}–{end} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(sources: dict[str, pd.DataFrame], references: set[str], out: Path) -> None:
    from genzoo import files
    from genzoo.plots import plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for name, losses in sources.items():
        style = "--" if name in references else "-"
        for axis, key in zip(axes, ("d_loss", "g_loss"), strict=True):
            axis.plot(losses["epoch"], losses[key], style, linewidth=1, label=name)
    for axis, title in zip(axes, ("discriminator loss", "generator loss"), strict=True):
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    with files.atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="run folders (results/runs/<run>)")
    parser.add_argument("--references", type=Path, nargs="*", default=[], help="logs of the reference script")
    parser.add_argument("--window", type=int, default=20, help="epochs per row of the table")
    parser.add_argument("--out", type=Path, help="draw both losses by epoch into this PNG")
    args = parser.parse_args()
    if not args.runs and not args.references:
        parser.error("give --runs, --references or both")
    sources = {f"reference {log.stem}": reference_losses(log) for log in args.references}
    sources |= {folder.name: run_losses(folder) for folder in args.runs}
    print(table(sources, args.window))
    if args.out:
        plot(sources, {f"reference {log.stem}" for log in args.references}, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
