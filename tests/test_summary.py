"""The leaderboard and plots of runs with several seeds: one row per config entry, mean ± std over its seeds."""

import json

import pandas as pd
import pytest
from genzoo import plots, scores, summary
from PIL import Image

# Best (lowest) FID of each run, by config entry; 'solo' is a run of one seed under its own name.
BEST_FID = {"gan-seed1": 40.0, "gan-seed2": 50.0, "gan-seed3": 60.0, "vae-seed1": 20.0, "vae-seed2": 90.0, "solo": 30.0}
ENTRIES = {"gan-seed1": "gan", "gan-seed2": "gan", "gan-seed3": "gan", "vae-seed1": "vae", "vae-seed2": "vae"}
# What train_info.json says trained a run: 'solo' a GPU, then (resumed elsewhere) a CPU; 'vae-seed2' was written by
# code that did not record it; the others a CPU.
TRAINED_ON = {
    "solo": {"device": "cpu", "hardware": ["NVIDIA H200", "AMD EPYC 9R14"]},
    "vae-seed2": {"device": "cpu"},
}
ON_A_CPU = {"device": "cpu", "hardware": ["AMD EPYC 9R14"]}


@pytest.fixture
def summarized(tmp_path):
    return summarize_into(tmp_path)


def summarize_into(tmp_path, ema_fid: dict[str, float] | None = None) -> dict:
    """Six runs of three entries (two with seeds) summarized in tmp_path: the table, the leaderboard, the plots.
    ema_fid: runs that also scored a moving average of their generator, with its best FID."""
    reference = {
        "scores": {"fid": 1.5, "kid_mean": 0.1, "classes_covered": 10},
        "n_real": 10000,
        "classifier_test_accuracy": 0.9921,
        "classifier_test_size": 10000,
        "classifier_sha256": "ab" * 32,
    }
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "real_scores.json").write_text(json.dumps(reference))
    csvs, infos, losses = [], [], []
    for run, best in BEST_FID.items():
        metrics = pd.DataFrame(
            {
                "run": run,
                "epoch": [10, 20],
                "fid": [best, best + 5],
                "kid_mean": [best / 10, best / 10 + 1],
                "kid_std": 0.01,
                "classes_covered": [10, 9],
                "n_generated": 10000,
            }
        )
        if run in (ema_fid or {}):
            averaged = ema_fid[run]
            metrics = metrics.assign(ema_fid=[averaged + 1, averaged], ema_kid_mean=averaged / 10, ema_kid_std=0.01)
            metrics = metrics.assign(ema_classes_covered=10)
        metrics.to_csv(tmp_path / f"{run}.csv", index=False)
        info = {"run": {"name": run, "preset": "p", "dataset": "mnist", "epochs": 20, "seed": 1}}
        (tmp_path / f"{run}.json").write_text(
            json.dumps(info | {"train_seconds": 1.0, "images_per_s": 2.0, **TRAINED_ON.get(run, ON_A_CPU)})
        )
        # Two epochs, the second of a later attempt (train_info.json times that one alone: 1 s).
        epochs = pd.DataFrame({"epoch": [1, 2], "step": [5, 10], "seconds": [3.0, 5.0], "images_per_s": [100.0, 50.0]})
        epochs.to_csv(tmp_path / f"{run}-epochs.csv", index=False)
        csvs.append(str(tmp_path / f"{run}.csv"))
        infos.append(str(tmp_path / f"{run}.json"))
        losses.append(str(tmp_path / f"{run}-epochs.csv"))
    plots = {name: str(tmp_path / f"{name}.png") for name in ("fid", "classes_covered", "metrics", "comparison")}
    table = summary.summarize(
        csvs, infos, losses, [str(tmp_path / "mnist" / "real_scores.json")], str(tmp_path / "summary.csv"),
        str(tmp_path / "scores.csv"), str(tmp_path / "leaderboard.md"), plots, entries=ENTRIES,
    )  # fmt: skip
    return {"table": table, "board": (tmp_path / "leaderboard.md").read_text(), "plots": plots}


def leaderboard_rows(board: str) -> list[list[str]]:
    return [line.strip("| ").split(" | ") for line in board.splitlines() if line.startswith("| ") and line[2].isdigit()]


def test_summary_keeps_one_row_per_run_with_its_entry(summarized):
    table = summarized["table"]
    assert table.set_index("run")["entry"].to_dict() == ENTRIES | {"solo": "solo"}
    assert table.set_index("run")["best_fid"].to_dict() == BEST_FID
    # Training time over every attempt, from the epoch table: 3 + 5 s, (300 + 250) images / 8 s.
    assert (table["train_seconds"] == 8.0).all() and (table["images_per_s"] == 68.8).all()
    # What trained each run's epochs: its GPU where it had one, else its CPU; nothing where train_info.json is silent.
    assert table.set_index("run")["hardware"].fillna("").to_dict() == {run: "AMD EPYC 9R14" for run in ENTRIES} | {
        "solo": "NVIDIA H200 + AMD EPYC 9R14",
        "vae-seed2": "",
    }


def test_leaderboard_ranks_entries_by_their_mean_fid_and_shows_the_spread(summarized):
    rows = leaderboard_rows(summarized["board"])
    # gan: mean 50, std 10; vae: mean 55, std 49.5; solo: 30
    assert [(r[0], r[1], r[3]) for r in rows] == [("1", "`solo`", "1"), ("2", "`gan`", "3"), ("3", "`vae`", "2")]
    assert rows[1][4] == "10, 10, 10"
    assert rows[1][5:7] == ["50.00 ± 10.00", "55.00 ± 10.00"]  # best FID, then the final checkpoint's
    assert rows[2][5] == "55.00 ± 49.50" and rows[0][5:7] == ["30.00", "35.00"]
    assert "the classifier scores 99.21% on the 10,000 test images" in summarized["board"]


def test_comparison_plots_one_bar_per_entry(summarized, tmp_path, monkeypatch):
    for path in summarized["plots"].values():
        with Image.open(path) as image:
            assert image.size[0] > 300
    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: drawn.append(figure))
    plots.plot_best_checkpoints(summarized["table"], scores.SCORES[:1], {}, str(tmp_path / "c.png"))
    fid_panel = drawn[0].axes[0]
    assert [label.get_text() for label in fid_panel.get_yticklabels()] == [
        "gan (3 seeds)",
        "vae (2 seeds)",
        "solo (epoch 10)",
    ]
    assert [bar.get_width() for bar in fid_panel.patches] == [50.0, 55.0, 30.0]  # the mean over each entry's seeds


def test_a_seed_without_a_score_is_counted_not_hidden():
    assert scores.format_spread(pd.Series([1.0, float("nan"), 3.0]), "fid") == "2.000 ± 1.414 (n=2)"
    assert scores.format_spread(pd.Series([1.0, float("nan")]), "fid") == "1.000 (n=1)"
    assert scores.format_spread(pd.Series([float("nan")]), "fid") == "–"


def test_classes_covered_read_as_counts_alone_and_as_a_mean_over_seeds():
    assert scores.format_spread(pd.Series([9.0]), "classes_covered") == "9"
    assert scores.format_spread(pd.Series([1.0, 1.0, 1.0]), "classes_covered") == "1.000 ± 0.000"
    assert scores.format_spread(pd.Series([8.0, 10.0]), "classes_covered") == "9.000 ± 1.414"


def figure_texts(figure) -> list[str]:
    texts = [figure._suptitle.get_text()] if figure._suptitle else []
    for axis in figure.axes:
        if axis.get_visible():
            texts += [axis.get_title(), axis.get_xlabel(), axis.get_ylabel()]
    return [text for text in texts if text]


def test_every_plot_speaks_in_words_and_draws_the_real_images_line(tmp_path, monkeypatch):
    """Titles and axis labels are what a reader calls things (no column names such as fid or g_loss), and every
    score plot that has a real-vs-real value draws it."""
    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: drawn.append(figure))
    summarize_into(tmp_path)
    fid, classes, every, comparison = drawn
    assert figure_texts(fid) == ["FID (lower is better), by epoch", "epoch", "FID"]
    assert figure_texts(classes) == ["classes covered (higher is better), by epoch", "epoch", "classes covered"]
    for figure in (fid, classes):
        assert "real images (mnist)" in [line.get_label() for line in figure.axes[0].get_lines()]
    assert figure_texts(every)[0] == "Every score of every checkpoint"
    assert figure_texts(comparison)[0].startswith("Best checkpoint of each run")
    for figure in drawn:
        for text in figure_texts(figure):
            assert "_" not in text and text not in {"fid", "kid_mean", "classes_covered"}, text

    steps = pd.DataFrame({"epoch": [1, 1, 2, 2], "step": [1, 2, 3, 4], "g_loss": 1.0, "d_loss": 0.5})
    steps.to_csv(tmp_path / "steps.csv", index=False)
    steps.groupby("epoch", as_index=False).last().to_csv(tmp_path / "epochs.csv", index=False)
    plots.plot_losses(str(tmp_path / "steps.csv"), str(tmp_path / "epochs.csv"), str(tmp_path / "l.png"), "gan")
    losses = drawn[-1]
    assert figure_texts(losses) == [
        "Losses of run gan", "generator loss", "training step", "loss",
        "discriminator (critic) loss", "training step", "loss",
    ]  # fmt: skip
    losses.canvas.draw()  # the figure's title clear of every panel's title
    suptitle = losses._suptitle.get_window_extent()
    assert not any(suptitle.overlaps(axis.title.get_window_extent()) for axis in losses.axes)


def test_a_negative_score_is_drawn_as_a_dot_not_a_bar_from_zero(summarized, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: drawn.append(figure))
    table = summarized["table"].assign(best_test_elbo=-100.0)
    elbo = next(score for score in scores.SCORES if score.column == "test_elbo")
    plots.plot_best_checkpoints(table, [elbo], {}, str(tmp_path / "c.png"))
    axis = drawn[0].axes[0]
    assert not axis.patches and axis.lines  # no bars, a marker per entry


def test_a_moving_average_of_the_generator_is_ranked_as_a_run_of_its_own(tmp_path):
    """Seeds of an entry with `ema` give the entry <entry>+ema beside it, from their ema_* scores."""
    result = summarize_into(tmp_path, ema_fid={"gan-seed1": 20.0, "gan-seed2": 30.0, "gan-seed3": 40.0})
    table = result["table"].set_index("run")
    assert table.loc["gan-seed2+ema", "entry"] == "gan+ema" and table.loc["gan-seed2+ema", "best_fid"] == 30.0
    assert table.loc["gan-seed2+ema", "best_epoch"] == 20 and table.loc["gan-seed2", "best_fid"] == 50.0
    ranked = [(row[1], row[3], row[5]) for row in leaderboard_rows(result["board"])]
    assert ranked[0] == ("`gan+ema`", "3", "30.00 ± 10.00") and ("`gan`", "3", "50.00 ± 10.00") in ranked
