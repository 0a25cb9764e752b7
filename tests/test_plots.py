"""How the comparison plots draw their entries: a look of its own for each, a dot for a negative score."""

import pandas as pd
import pytest
from genzoo import plots, scores
from matplotlib.colors import to_hex

NAN = float("nan")


def score(column: str) -> scores.Score:
    return next(score for score in scores.SCORES if score.column == column)


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The figures the plots would save, in order, kept open to look at."""
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: figures.append(figure))
    return figures


def test_thirty_entries_draw_thirty_different_lines_the_first_ten_in_matplotlibs_colours(tmp_path, drawn):
    """config/zoo.yaml has 20+ entries: matplotlib's C10 is C0 again, so colours alone would draw two alike."""
    csvs = []
    for index in range(30):
        csvs.append(str(tmp_path / f"run{index}.csv"))
        pd.DataFrame({"run": f"run{index}", "epoch": [1, 2], "fid": [20.0 + index, 10.0 + index]}).to_csv(
            csvs[-1], index=False
        )
    plots.plot_metric_by_epoch(csvs, score("fid"), str(tmp_path / "fid.png"))
    looks = [(to_hex(line.get_color()), line.get_linestyle(), line.get_marker()) for line in drawn[0].axes[0].lines]
    assert len(looks) == 30 and len(set(looks)) == 30
    assert looks[:10] == [(to_hex(f"C{index}"), "-", "o") for index in range(10)]  # as before: solid, dots
    assert len({tuple(plots.entry_look(index).values()) for index in range(80)}) == 80


def test_an_entry_without_the_score_leaves_a_negative_score_drawn_as_dots(tmp_path, drawn):
    """A GAN has no held-out ELBO: listed first, its NaN must not turn the VAE's ELBO into a bar from 0."""
    table = pd.DataFrame(
        {
            "entry": ["gan", "vae", "vae"],
            "best_epoch": [10, 20, 20],
            "best_test_elbo": [NAN, -100.0, -110.0],
            "best_fid": NAN,  # a panel no entry has a value for: drawn empty, without an error
        }
    )
    plots.plot_best_checkpoints(table, [score("test_elbo"), score("fid")], {}, str(tmp_path / "c.png"))
    elbo = drawn[0].axes[0]
    assert not elbo.patches  # no bars
    means = [line for line in elbo.lines if line.get_marker() == "s"]  # the mean dots, one per entry with the score
    assert [(list(line.get_xdata()), list(line.get_ydata())) for line in means] == [([-105.0], [1])]
    seeds = [line for line in elbo.lines if line.get_marker() == "o"]
    assert [sorted(line.get_xdata()) for line in seeds] == [[-110.0, -100.0]]


def test_two_datasets_real_images_are_dashed_apart_in_every_panel(tmp_path, drawn):
    """A folder (or benchmarks/reproductions.py --curves over several) can hold MNIST and Fashion-MNIST runs."""
    metrics = {
        "a": pd.DataFrame({"epoch": [1, 2], "fid": [30.0, 20.0], "recall": [0.1, 0.2]}),
        "b": pd.DataFrame({"epoch": [1, 2], "fid": [40.0, 35.0], "recall": [0.3, 0.4]}),
    }
    real = {"mnist": {"fid": 2.8, "recall": 0.86}, "fashion-mnist": {"fid": 0.3, "recall": 0.9}}
    plots.plot_scores_by_epoch(metrics, [score("fid"), score("recall")], real, str(tmp_path / "m.png"))
    for axis in drawn[0].axes[:2]:
        real_lines = {
            line.get_label(): line.get_linestyle() for line in axis.lines if line.get_label().startswith("real")
        }
        assert list(real_lines) == ["real images (mnist)", "real images (fashion-mnist)"]
        assert real_lines["real images (mnist)"] == "--"  # one dataset's line as it always was
        assert len(set(real_lines.values())) == 2
