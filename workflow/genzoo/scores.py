"""The score catalogue and how scores are shown: which columns are scores and which way is better, their
formatting (one run, or a mean ± spread over seeds), and the per-dataset ranking the leaderboard prints.
Shared by the summary, the plots and the pages; it imports neither matplotlib nor torch."""

import json
import math
from pathlib import Path
from typing import NamedTuple

import pandas as pd


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
    else:  # the spread to as many decimals as the mean; a mean of counts too (not "1 ± 0.000")
        mean, spread = valid.mean(), valid.std(ddof=1)
        text = f"{mean:.{decimals(mean)}f} ± {spread:.{decimals(mean)}f}"
    return text if len(valid) == len(values) else f"{text} (n={len(valid)})"


def score_title(score) -> str:
    return f"{score.label} ({'higher' if score.higher_is_better else 'lower'} is better)"


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


def load_references(paths: list[str]) -> dict[str, dict]:
    """The real-vs-real scores, keyed by their dataset (the name of the folder each file is in)."""
    return {Path(path).parent.name: json.loads(Path(path).read_text()) for path in paths}
