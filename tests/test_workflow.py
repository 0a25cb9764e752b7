"""The whole DAG on a tiny config, in a copy of the workflow, then what a rerun would do."""

import base64
import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = yaml.safe_load((Path(__file__).parent / "data" / "tiny.yaml").read_text())
EPOCHS = {name: run["epochs"] for name, run in TINY["runs"].items()}


def snakemake(
    workdir: Path, *args: str, config: str = "config/tiny.yaml", env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "--cores", "2", "--configfile", config, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env=None if env is None else os.environ | env,
    )


def planned_jobs(workdir: Path, config: str = "config/tiny.yaml", args: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Rule name -> wildcards of each job a dry run plans (an empty dict when nothing is to be done)."""
    result = snakemake(workdir, "--dry-run", *args, config=config)
    assert result.returncode == 0, result.stderr
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in result.stdout.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            rule = match.group(1)
            jobs.setdefault(rule, []).append("")
        elif rule and (match := re.match(r"^\s+wildcards: (.*)$", line)):
            jobs[rule][-1] = match.group(1)
    return jobs


def write_config(workdir: Path, name: str, change) -> str:
    cfg = json.loads(json.dumps(TINY))
    change(cfg)
    (workdir / "config" / name).write_text(yaml.safe_dump(cfg))
    return f"config/{name}"


def copy_workflow(repo: Path, workdir: Path) -> Path:
    """The workflow's files in a folder of their own, so tests can edit code and configs freely."""
    ignore = shutil.ignore_patterns("__pycache__", "results", ".snakemake")
    for name in ("workflow", "config", "profiles", "envs"):
        shutil.copytree(repo / name, workdir / name, ignore=ignore)
    shutil.copy(repo / "Snakefile", workdir / "Snakefile")
    shutil.copy(repo / "tests" / "data" / "tiny.yaml", workdir / "config" / "tiny.yaml")
    return workdir


@pytest.fixture(scope="module")
def fresh(repo, tmp_path_factory):
    return copy_workflow(repo, tmp_path_factory.mktemp("fresh"))


@pytest.fixture(scope="module")
def finished(repo, tmp_path_factory):
    """A copy of the workflow that has run the tiny config to the end."""
    workdir = copy_workflow(repo, tmp_path_factory.mktemp("workflow"))
    result = snakemake(workdir)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.mark.parametrize("run", sorted(EPOCHS))
def test_every_run_has_its_gif_with_one_frame_per_epoch(finished, run):
    import imageio.v3 as iio

    gif = iio.imread(finished / f"results/runs/{run}/samples.gif", index=None)
    assert gif.shape[0] == EPOCHS[run]
    frames = sorted((finished / f"results/runs/{run}/frames").glob("epoch_*.png"))
    assert [f.name for f in frames] == [f"epoch_{e:04d}.png" for e in range(1, EPOCHS[run] + 1)]
    with Image.open(frames[-1]) as frame:
        assert frame.size[0] > 28 and frame.mode == "L"


@pytest.mark.parametrize("run", sorted(EPOCHS))
def test_every_run_is_scored_at_every_checkpoint(finished, run):
    metrics = pd.read_csv(finished / f"results/runs/{run}/metrics.csv")
    every = TINY["runs"][run].get("checkpoint_every", 1)
    expected = sorted({e for e in range(1, EPOCHS[run] + 1) if e % every == 0} | {EPOCHS[run]})
    assert metrics["epoch"].tolist() == expected
    assert all(math.isfinite(v) and v >= 0 for v in metrics["fid"])
    assert metrics["classes_covered"].between(0, 10).all()
    for score in ("precision", "recall", "coverage"):
        assert metrics[score].between(0, 1).all()
    assert (metrics["inception_score"].between(0.999, 10)).all() and (metrics["kid_std"] > 0).all()
    assert ("test_elbo" in metrics) == (run == "vae")
    record = json.loads((finished / f"results/runs/{run}/metrics/epoch_{EPOCHS[run]:04d}.json").read_text())
    assert len(record["class_histogram"]) == 10 and sum(record["class_histogram"]) == pytest.approx(1.0)
    assert record["n_generated"] == TINY["evaluation"]["n_samples"] and len(record["classifier_sha256"]) == 64


@pytest.mark.parametrize("run", sorted(EPOCHS))
def test_every_run_logs_each_epoch_and_records_provenance(finished, run):
    log = (finished / f"results/logs/train/{run}.log").read_text()
    for epoch in range(1, EPOCHS[run] + 1):
        assert re.search(rf"epoch {epoch}/{EPOCHS[run]} .* img/s .* ETA", log)
    info = json.loads((finished / f"results/runs/{run}/train_info.json").read_text())
    assert info["run"]["name"] == run and info["device"] == "cpu" and info["resumed_after_epoch"] == 0
    assert (finished / f"results/runs/{run}/resume/state.pt").exists()  # kept, for more epochs later
    assert info["versions"]["torch"] and info["versions"]["snakemake"]
    losses = pd.read_csv(finished / f"results/runs/{run}/losses_epochs.csv")
    assert len(losses) == EPOCHS[run] and np.isfinite(losses.drop(columns=["epoch", "hardware"]).to_numpy()).all()
    # What trained the epochs: this CPU, named in each epoch's row and in the provenance with its instruction sets.
    assert set(losses["hardware"]) == {info["cpu"]["model"]} and info["hardware"] == [info["cpu"]["model"]]
    assert info["gpu"] is None and info["cpu"]["torch_capability"]


def test_vae_renders_its_latent_manifold(finished):
    with Image.open(finished / "results/runs/vae/manifold.png") as image:
        assert image.size[0] >= 15 * 28
    with Image.open(finished / "results/runs/vae/manifold.gif") as gif:
        assert gif.n_frames == EPOCHS["vae"] and gif.size[0] == 15 * 28
    assert not (finished / "results/runs/gan/manifold.png").exists()


def test_summary_has_one_row_per_run_and_plots(finished):
    summary = pd.read_csv(finished / "results/summary.csv")
    assert sorted(summary["run"]) == sorted(EPOCHS)
    assert (summary["best_fid"] <= summary["final_fid"]).all()
    assert summary["classifier_test_accuracy"].between(0.5, 1).all()
    for plot in ("fid", "classes_covered", "metrics", "comparison"):
        with Image.open(finished / f"results/plots/{plot}.png") as image:
            assert image.size[0] > 300
    data_stats = json.loads((finished / "results/data/mnist-5k/stats.json").read_text())
    assert data_stats["train"]["count"] == TINY["datasets"]["mnist-5k"]["train_subset"]
    assert data_stats["test"]["count"] == TINY["datasets"]["mnist-5k"]["test_size"]


def test_scores_are_tidy_and_ranked_on_a_leaderboard(finished):
    scores = pd.read_csv(finished / "results/scores.csv")
    assert list(scores.columns) == ["run", "preset", "dataset", "epoch", "metric", "value"]
    for run, metrics in ((run, pd.read_csv(finished / f"results/runs/{run}/metrics.csv")) for run in EPOCHS):
        mine = scores[scores["run"] == run]
        assert not mine.duplicated(["epoch", "metric"]).any()
        fid = mine[mine["metric"] == "fid"].set_index("epoch")["value"]
        assert fid.to_dict() == metrics.set_index("epoch")["fid"].to_dict()
    summary = pd.read_csv(finished / "results/summary.csv")
    board = (finished / "results/leaderboard.md").read_text()
    rows = [line for line in board.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[1] for row in rows] == [f"`{run}`" for run in summary.sort_values("best_fid")["run"]]
    real = json.loads((finished / "results/classifiers/mnist-5k/real_scores.json").read_text())
    assert "*real training images*" in board and real["n_real"] == TINY["evaluation"]["n_samples"]
    assert (summary["fid_floor"] == real["scores"]["fid"]).all()


@pytest.fixture(scope="module")
def report_page(finished):
    """The tiny run's `snakemake --report`, open in a real headless Chromium (skipped without one, unless
    GENZOO_REQUIRE_CHROMIUM=1, which CI sets)."""
    from browser import Browser, chromium_path

    if chromium_path() is None:
        if os.environ.get("GENZOO_REQUIRE_CHROMIUM") == "1":
            pytest.fail("GENZOO_REQUIRE_CHROMIUM=1 but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    result = snakemake(finished, "--report", "report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    with Browser() as browser:
        browser.home = (finished / "report.html").as_uri()
        browser.open(browser.home)
        yield browser


def visible_texts(browser, selector: str) -> list[str]:
    return browser.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})].filter(el => el.offsetParent)"
        ".map(el => el.textContent.trim())"
    )


def entries(browser) -> list[list[str]]:
    """The label cells of each row in the result table the navigation bar shows."""
    rows = browser.evaluate(
        "[...document.querySelectorAll('tr')].filter(tr => tr.querySelector('td') && tr.offsetParent)"
        ".map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()).filter(Boolean))"
    )
    return sorted(rows)


def go_home(browser) -> None:
    """The report keeps no state in its URL: loading it again starts at its front page."""
    browser.open(browser.home)


def test_report_names_the_runs_it_holds_not_the_configs_entries(finished, tmp_path):
    """With select, the report holds one run and says so (it used to list every entry of the config)."""
    result = snakemake(finished, "--report", str(tmp_path / "gan.html"), "--config", "select=[gan]")
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "gan.html").read_text()
    assert "Runs in this report: gan." in page and "Runs in this report: gan, " not in page


def test_report_lists_every_run_with_its_figures(report_page):
    assert {"Comparison", "Leaderboard", "Runs"} <= set(visible_texts(report_page, "body *"))
    report_page.click_text("Runs")
    for run in EPOCHS:
        report_page.click_text(run)
        # One label only: with two, Snakemake's report would show a run's two figures as a toggle, not a list.
        figures = ["losses", "samples and scores"] + (["latent manifold"] if run == "vae" else [])
        assert entries(report_page) == sorted([figure] for figure in figures)
        report_page.click_text("Runs")  # the breadcrumb, back to the list of runs


def test_report_shows_a_runs_page_with_its_gif_and_scores(report_page, finished):
    go_home(report_page)
    report_page.click_text("Runs")
    report_page.click_text("gan")
    report_page.view_result("samples and scores")
    report_page.wait_for("document.querySelector('iframe')")
    frame = report_page.evaluate(
        "(() => { const f = document.querySelector('iframe'); const box = f.getBoundingClientRect();"
        " return {src: f.src, width: box.width, height: box.height}; })()"
    )
    assert frame["width"] > 300 and frame["height"] > 300
    header, payload = frame["src"].split(",", 1)
    assert header.startswith("data:text/html")
    page = base64.b64decode(payload).decode()
    assert "<h1>Run gan</h1>" in page and page.count('src="data:image/gif;base64,') == 1
    every = TINY["runs"]["gan"]["checkpoint_every"]
    scored = sorted({e for e in range(1, EPOCHS["gan"] + 1) if e % every == 0} | {EPOCHS["gan"]})
    assert re.findall(r"<tr><td>(\d+)</td>", page) == [str(e) for e in scored]
    assert page == (finished / "results/runs/gan/page.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1  # the final grid

    # The page on its own (the report's frame is another origin, closed to scripts): every image decodes.
    report_page.open((finished / "results/runs/vae/page.html").as_uri())
    sizes = report_page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.width])")
    assert len(sizes) == 3 and all(done and natural > 0 and shown >= 280 for done, natural, shown in sizes)


def test_report_draws_the_comparison_plots_and_the_leaderboard(report_page, finished):
    go_home(report_page)
    report_page.click_text("Comparison")
    figures = ["best checkpoints", "classes covered by epoch", "FID by epoch", "every score by epoch"]
    assert entries(report_page) == sorted([figure] for figure in figures)
    report_page.view_result("every score by epoch")
    image = "document.querySelector('img[src^=\"data:image/png\"]')"
    report_page.wait_for(f"{image}?.complete && {image}.naturalWidth > 0")
    drawn = report_page.evaluate(f"[{image}.naturalWidth, {image}.naturalHeight]")
    with Image.open(finished / "results/plots/metrics.png") as plot:
        assert drawn == list(plot.size)

    go_home(report_page)
    report_page.click_text("Leaderboard")
    report_page.view_result("runs by their best FID")
    report_page.wait_for("document.querySelector('iframe')")
    header, payload = report_page.evaluate("document.querySelector('iframe').src").split(",", 1)
    assert header.startswith("data:text/html")
    ranked = re.findall(r"<tr><td>(\d+)</td><td class=\"text\">([\w.-]+)</td>", base64.b64decode(payload).decode())
    summary = pd.read_csv(finished / "results/summary.csv").sort_values("best_fid")
    assert ranked == [(str(rank), run) for rank, run in enumerate(summary["run"], start=1)]


def test_a_finished_workflow_has_nothing_left_to_do(finished):
    assert planned_jobs(finished) == {}


def test_a_new_mirror_reruns_nothing(finished):
    """Where verified data came from is not a rerun trigger (download reads the mirrors from the config)."""
    config = write_config(finished, "mirror.yaml", lambda cfg: cfg["datasets"]["mnist-5k"].update(mirrors=["/x"]))
    assert planned_jobs(finished, config) == {}


def test_reordering_the_keys_of_a_config_reruns_nothing(finished):
    cfg = json.loads(json.dumps(TINY))
    reordered = {section: dict(reversed(list(values.items()))) for section, values in reversed(list(cfg.items()))}
    assert list(reordered["evaluation"]) != list(TINY["evaluation"])
    (finished / "config" / "reordered.yaml").write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert planned_jobs(finished, "config/reordered.yaml") == {}


def test_capping_the_frames_redoes_only_the_gifs(finished, fresh):
    config = write_config(finished, "frames.yaml", lambda c: c["render"].update(max_frames=2))
    jobs = planned_jobs(finished, config)
    assert set(jobs) == {"gif", "run_page", "all"} and jobs["gif"] == jobs["run_page"] == ["run=gan"]
    # From scratch: the 3-epoch run draws epochs 2 and 3 (every ceil(3 / 2) = 2nd and the last), the others all.
    config = write_config(fresh, "frames.yaml", lambda c: c["render"].update(max_frames=2))
    frames = sorted(planned_jobs(fresh, config)["render_frame"])
    drawn = {run: range(1, last + 1) for run, last in EPOCHS.items()} | {"gan": [2, 3]}
    assert EPOCHS["gan"] == 3 and EPOCHS["dcgan"] == EPOCHS["vae"] == 2
    assert frames == sorted(f"run={run}, epoch={epoch:04d}" for run, epochs in drawn.items() for epoch in epochs)


def test_a_run_at_the_schemas_most_epochs_plans_its_five_digit_frames(fresh):
    """Epoch tags have four digits at least; the 10,000th epoch's frame has five and must still match a rule."""
    config = write_config(fresh, "long.yaml", lambda c: c["runs"]["gan"].update(epochs=10_000, checkpoint_every=5_000))
    jobs = planned_jobs(fresh, config)
    assert "run=gan" in jobs["gif"] and "run=gan, epoch=10000" in jobs["render_frame"]
    assert len([job for job in jobs["render_frame"] if job.startswith("run=gan,")]) == 100  # render.max_frames


def test_the_sample_rule_and_the_sample_command_draw_the_same_grid(finished):
    target = finished / "results/runs/gan/samples_16_seed3.png"
    result = snakemake(finished, "--", str(target.relative_to(finished)))
    assert result.returncode == 0, result.stderr[-3000:]
    command = [sys.executable, "-m", "genzoo", "sample", "results/runs/gan", "--n", "16", "--seed", "3"]
    env = {**os.environ, "PYTHONPATH": "workflow"}
    made = subprocess.run(
        [*command, "--scale", "1", "--out", "command.png"], cwd=finished, env=env, capture_output=True
    )
    try:
        assert made.returncode == 0, made.stderr
        assert target.read_bytes() == (finished / "command.png").read_bytes()
    finally:
        target.unlink()
        (finished / "command.png").unlink(missing_ok=True)


def test_the_default_config_walks_the_latent_space_of_every_run(fresh):
    jobs = planned_jobs(fresh, "config/config.yaml")
    assert sorted(jobs["interpolate"]) == [f"run={run}" for run in ("dcgan", "lsgan", "vae")]


def rerun_reasons(workdir: Path, config: str) -> list[str]:
    result = snakemake(workdir, "--dry-run", config=config)
    assert result.returncode == 0, result.stderr
    return re.findall(r"^\s+reason: (.*)$", result.stdout, re.MULTILINE)


def test_a_rerun_names_the_setting_or_file_that_changed_and_jobs_list_only_data(finished):
    config = write_config(finished, "lr.yaml", lambda c: c["runs"]["gan"].update(lr_g=0.001))
    (train,) = [reason for reason in rerun_reasons(finished, config) if "lr_g" in reason]
    assert "before: 'lr_g=0.0002' now: 'lr_g=0.001'" in train
    assert "update_order" not in train and len(train) < 200  # the one setting, not the run's whole dict
    with edited(finished / "workflow" / "genzoo" / "training.py"):
        reasons = rerun_reasons(finished, "config/tiny.yaml")
        plan = snakemake(finished, "--dry-run").stdout
    assert any(re.search(r"before: 'genzoo/training\.py=\w{12}' now: 'genzoo/training\.py=\w{12}'", r) for r in reasons)
    inputs = re.findall(r"^\s+input: (.*)$", plan, re.MULTILINE)
    assert inputs and not [line for line in inputs if ".py" in line]  # no package file listed as an input


def test_drawing_frames_the_tutorials_way_redoes_only_the_pictures(finished):
    config = write_config(finished, "range.yaml", lambda c: c["render"].update(frame_range="per_image"))
    jobs = planned_jobs(finished, config)
    assert set(jobs) == {"render_frame", "gif", "run_page", "all"}
    assert len(jobs["render_frame"]) == sum(EPOCHS.values())


RULE_ORDER = [
    "download",
    "normalize",
    "train_classifier",
    "pinned_classifier",
    "real_scores",
    "train",
    "evaluate",
    "plot_losses",
]
RULE_ORDER += ["render_frame", "render_manifold", "gif", "manifold_gif", "run_page", "summary", "leaderboard_page"]


def describe(jobs: dict[str, list[str]]) -> str:
    """A dry run's plan in the words of the README's rerun table: each rule, in pipeline order, with the runs (or
    datasets) its jobs are for, and a count where one has several jobs."""
    parts = []
    for rule in sorted(set(jobs) - {"all"}, key=RULE_ORDER.index):
        owners = Counter(match.group(1) for w in jobs[rule] if (match := re.search(r"(?:run|dataset)=([\w.-]+)", w)))
        if set(owners) == set(EPOCHS):
            count = sum(owners.values())
            who = "every run" + (f", {count} jobs" if count != len(EPOCHS) else "")
        else:
            who = ", ".join(f"{owner} ×{n}" if n > 1 else owner for owner, n in sorted(owners.items()))
        parts.append(f"`{rule}`" + (f" ({who})" if who else ""))
    return ", ".join(parts) or "nothing"


@contextlib.contextmanager
def edited(path: Path, addition: str = "\n# edited\n"):
    """A real edit of a file (with no addition, a touch), newer than every output, undone afterwards (content and
    times)."""
    before, times = path.read_text(), path.stat()
    path.write_text(before + addition)
    later = time.time() + 2
    os.utime(path, (later, later))
    try:
        yield
    finally:
        path.write_text(before)
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def preset_line(key: str, like: str, **changes) -> str:
    """A line appended to presets.py: registry entry `key` (re)defined as `like` with changes, as a user might."""
    return f"\nPRESETS[{key!r}] = __import__('dataclasses').replace(PRESETS[{like!r}], **{changes!r})\n"


MNIST_PIN = yaml.safe_load((Path(__file__).parents[1] / "config/mnist.yaml").read_text())["datasets"]["mnist"][
    "classifier"
]["sha256"]
CONFIG_EDITS = {
    "`runs.gan.lr_g` (one run's setting)": lambda c: c["runs"]["gan"].update(lr_g=0.001),
    "`runs.gan.epochs`, 3 → 4 (training continues after epoch 3)": lambda c: c["runs"]["gan"].update(epochs=4),
    "`render.scale` (a render option)": lambda c: c["render"].update(scale=2),
    "`evaluation.kid_subset_size` (an evaluation option)": lambda c: c["evaluation"].update(kid_subset_size=50),
    "`training.scoring_device`, `training.threads` (where and how jobs run)": lambda c: c.update(
        training={"scoring_device": "cpu", "threads": 2}
    ),
    "`datasets.mnist-5k.train_subset` (the dataset)": lambda c: c["datasets"]["mnist-5k"].update(train_subset=256),
    "`datasets.mnist-5k.classifier` (a classifier file pinned)": lambda c: c["datasets"]["mnist-5k"].update(
        classifier={"file": "config/classifiers/mnist.pt", "sha256": MNIST_PIN}
    ),
}
CODE_EDITS = {  # paths under workflow/
    "`sources.py` (how files are fetched and checked)": ("genzoo/sources.py", "\n# edited\n"),
    "`models/mlp_gan.py` (one model file)": ("genzoo/models/mlp_gan.py", "\n# edited\n"),
    "`models/keras_layers.py` (shared by two models)": ("genzoo/models/keras_layers.py", "\n# edited\n"),
    "`training.py` (the training loop)": ("genzoo/training.py", "\n# edited\n"),
    "`evaluation.py`": ("genzoo/evaluation.py", "\n# edited\n"),
    "`rendering.py`": ("genzoo/rendering.py", "\n# edited\n"),
    "`presets.py`: a preset added": ("genzoo/presets.py", preset_line("my-gan", "pytorch-gan", name="my-gan")),
    "`presets.py`: `tf-dcgan`'s `lr_g` changed": ("genzoo/presets.py", preset_line("tf-dcgan", "tf-dcgan", lr_g=3e-4)),
    "`workflow/scripts/plot_losses.py` (one rule's own script)": ("scripts/plot_losses.py", "\n# edited\n"),
    "`workflow/scripts/evaluate.py` (a script with rules after it)": ("scripts/evaluate.py", "\n# edited\n"),
}


def readme_rerun_row(edit: str, jobs: dict[str, list[str]]) -> str:
    return f"| {edit} | {describe(jobs)} |"


@pytest.mark.parametrize("edit", CONFIG_EDITS)
def test_the_readme_rerun_table_is_what_a_config_edit_plans(finished, repo, edit):
    config = write_config(finished, "edited.yaml", CONFIG_EDITS[edit])
    assert readme_rerun_row(edit, planned_jobs(finished, config)) in (repo / "README.md").read_text()


def test_scripts_newer_than_the_results_rerun_nothing_as_the_profile_tracks_code_by_content(finished):
    """A fresh clone gives every script a new modification time. Snakemake's `code` trigger judges a rule's own script
    by that time and would plan every job again; the default profile leaves it out, as each rule's params hold its
    script's content hash, so a finished workflow plans nothing."""
    with_code_trigger = ("--rerun-triggers", "mtime", "params", "input", "software-env", "code")
    with contextlib.ExitStack() as touched:
        for script in (finished / "workflow" / "scripts").glob("*.py"):
            touched.enter_context(edited(script, addition=""))
        by_content, by_time = planned_jobs(finished), planned_jobs(finished, args=with_code_trigger)
    assert by_content == {}
    assert {"download", "train_classifier"} <= set(by_time)
    assert {re.search(r"run=([\w.-]+)", w).group(1) for w in by_time["train"]} == set(EPOCHS)


def test_every_rule_fingerprints_the_script_it_runs(repo):
    """A rule's params name its script by hand beside its `script:` directive: the two must agree, or editing the
    script would rerun another rule. download alone is left out, as fetching under pinned checksums reruns nothing."""
    checked = set()
    for smk in (repo / "workflow" / "rules").glob("*.smk"):
        for rule, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text()):
            script = re.search(r'script:\s*"\.\./scripts/(\w+\.py)"', body).group(1)
            named = re.findall(r'\*\*(?:package_code|run_code)\("(\w+\.py)"', body)
            assert named == ([] if rule == "download" else [script]), f"rule {rule} runs {script}, fingerprints {named}"
            checked.add(script)
    assert checked == {path.name for path in (repo / "workflow" / "scripts").glob("*.py")} - {"script_setup.py"}


@pytest.mark.parametrize("edit", CODE_EDITS)
def test_the_readme_rerun_table_is_what_a_code_edit_plans(finished, repo, edit):
    path, addition = CODE_EDITS[edit]
    with edited(finished / "workflow" / path, addition):
        jobs = planned_jobs(finished)
    assert readme_rerun_row(edit, jobs) in (repo / "README.md").read_text()
    assert planned_jobs(finished) == {}  # undone


def test_raising_a_runs_epochs_continues_its_training_to_a_straight_runs_checkpoint(repo, tmp_path):
    """Through Snakemake, which deletes the run's outputs before the rerun: the state survives it."""

    def train(workdir: Path, epochs: int) -> subprocess.CompletedProcess:
        one_run = {
            "datasets": {"mnist-5k": {"source": "mnist-5k", "test_size": 200, "train_subset": 256}},
            "runs": {"gan": {"dataset": "mnist-5k", "preset": "pytorch-gan", "epochs": epochs, "batch_size": 32}},
        }
        (workdir / "config" / "one.yaml").write_text(yaml.safe_dump(one_run))
        result = snakemake(workdir, "--", "results/runs/gan/train_info.json", config="config/one.yaml")
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    extended = copy_workflow(repo, tmp_path / "extended")
    train(extended, 2)
    train(extended, 3)
    log = (extended / "results/logs/train/gan.log").read_text()
    assert "continuing after epoch 2, where its finished 2-epoch training stopped, to epoch 3" in log
    assert "epoch 1/3" not in log and "epoch 3/3" in log

    straight = copy_workflow(repo, tmp_path / "straight")
    train(straight, 3)
    for name in ("checkpoints/epoch_0003.pt", "samples/epoch_0003.npy", "losses_steps.csv"):
        runs = [workdir / "results/runs/gan" / name for workdir in (extended, straight)]
        assert runs[0].read_bytes() == runs[1].read_bytes(), name


def test_cuda_graph_auto_replans_no_cpu_run_and_graphs_the_runs_a_gpu_machine_plans(finished):
    """auto, the default, plans a finished CPU run as `false`, the default before it, did; where the planning machine
    has a GPU (here one CUDA_VISIBLE_DEVICES pretends), device: auto runs train again, as graphs."""
    from genzoo import gpus

    if gpus.visible_gpus():
        pytest.skip("the finished workflow was planned on a machine with a GPU")
    former = write_config(
        finished, "eager.yaml", lambda c: [run.update(cuda_graph=False) for run in c["runs"].values()]
    )
    assert planned_jobs(finished, former) == {}
    result = snakemake(finished, "--dry-run", env={"CUDA_VISIBLE_DEVICES": "0"})
    assert result.returncode == 0, result.stderr
    reasons = {}
    for job in re.split(r"^\[.+\]$", result.stdout, flags=re.M):
        if re.search(r"^rule train:$", job, flags=re.M):
            reasons[re.search(r"wildcards: run=(\S+)", job).group(1)] = re.search(r"reason: (.*)", job).group(1)
    assert set(reasons) == set(EPOCHS)
    assert all("before: 'cuda_graph=false' now: 'cuda_graph=true'" in reason for reason in reasons.values())


def test_only_runs_that_ask_for_cuda_reserve_a_gpu(fresh):
    """The `gpu` resource caps GPU jobs at one per GPU locally and becomes sbatch --gpus on SLURM."""
    config = write_config(fresh, "cuda.yaml", lambda c: c["runs"]["dcgan"].update(device="cuda"))
    result = snakemake(fresh, "--dry-run", config=config)
    assert result.returncode == 0, result.stderr
    gpus = {}
    for job in re.split(r"^\[.+\]$", result.stdout, flags=re.M):  # each job's block opens with its timestamp
        if rule := re.search(r"^(?:local)?rule (\w+):$", job, flags=re.M):
            wildcards = re.search(r"wildcards: (.*)", job)
            gpu = re.search(r"resources: .*\bgpu=(\d+)", job)
            gpus[(rule.group(1), wildcards and wildcards.group(1))] = gpu and int(gpu.group(1))
    assert {key: gpu for key, gpu in gpus.items() if gpu} == {("train", "run=dcgan"): 1}
    assert {key[1] for key, gpu in gpus.items() if key[0] == "train" and gpu == 0} == {"run=gan", "run=vae"}


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c["runs"]["gan"].update(preset="stylegan"), "runs.gan.preset: unknown preset 'stylegan'"),
        (lambda c: c["runs"]["gan"].update(dataset="cifar10"), "runs.gan.dataset: 'cifar10' is not listed"),
        (lambda c: c["runs"]["vae"].update(epochs=-3), "runs.vae.epochs: -3 is less than the minimum of 1"),
        (lambda c: c["runs"]["vae"].pop("dataset"), "'dataset' is a required property"),
        (lambda c: c["runs"]["dcgan"].update(lr=0.1), "Additional properties are not allowed ('lr' was unexpected)"),
        (
            lambda c: c["datasets"]["mnist-5k"].update(classifier={"file": "lost.pt", "sha256": "0" * 64}),
            "datasets.mnist-5k.classifier.file: no such file 'lost.pt'",
        ),
    ],
)
def test_bad_config_stops_before_any_job_with_a_named_error(fresh, change, message):
    config = write_config(fresh, "bad.yaml", change)
    result = snakemake(fresh, "--dry-run", config=config)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "additionalProperties" not in output and len(output.splitlines()) < 12  # the key and value, not the schema
    assert not (fresh / "results").exists()


def test_another_workflow_uses_this_one_as_a_module(repo, tmp_path):
    """`module genzoo` and `use rule * from genzoo` in a folder holding only its own Snakefile and config: paths
    inside the workflow hang off its own files, not off the importing workflow's folder."""
    (tmp_path / "config").mkdir()
    shutil.copy(repo / "tests" / "data" / "tiny.yaml", tmp_path / "config" / "tiny.yaml")
    module = repo / "workflow" / "Snakefile"
    (tmp_path / "Snakefile").write_text(
        f'configfile: "config/tiny.yaml"\n\n\nmodule genzoo:\n    snakefile:\n        "{module}"\n'
        "    config:\n        config\n\n\nuse rule * from genzoo\n"
    )
    result = subprocess.run([*SNAKEMAKE, "--cores", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for run in EPOCHS:
        assert (tmp_path / "results" / "runs" / run / "samples.gif").is_file()
    assert (tmp_path / "results" / "leaderboard.html").is_file()
    assert (tmp_path / "results" / "summary.csv").is_file()


def test_two_runs_of_one_name_stop_the_workflow_instead_of_merging(fresh):
    """YAML keeps the last of two equal keys: without the check, run `gan` would silently become a VAE run."""
    text = (
        (fresh / "config" / "tiny.yaml")
        .read_text()
        .replace("  vae:\n", "  gan:\n    dataset: mnist-5k\n    preset: dlwp-vae\n  vae:\n")
    )
    (fresh / "config" / "twice.yaml").write_text(text)
    result = snakemake(fresh, "--dry-run", config="config/twice.yaml")
    assert result.returncode != 0
    assert (
        "config/twice.yaml sets gan (line" in result.stdout + result.stderr and "twice" in result.stdout + result.stderr
    )
    assert not (fresh / "results").exists()


def test_a_killed_training_job_resumes_when_snakemake_runs_again(repo, tmp_path):
    """As when a cluster job hits its walltime: the job dies, Snakemake fails, the next invocation resumes."""
    workdir = copy_workflow(repo, tmp_path)
    one_run = {
        "datasets": {"mnist-5k": {"source": "mnist-5k", "test_size": 200, "train_subset": 512}},
        "runs": {"slow": {"dataset": "mnist-5k", "preset": "pytorch-gan", "epochs": 4, "batch_size": 4}},
    }
    (workdir / "config" / "slow.yaml").write_text(yaml.safe_dump(one_run))
    target = "results/runs/slow/train_info.json"
    command = [*SNAKEMAKE, target, "--cores", "1", "--configfile", "config/slow.yaml"]
    state = workdir / "results/runs/slow/resume/state.pt"
    first = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not state.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    job = subprocess.run(["pgrep", "-f", f"{workdir}/.snakemake/scripts/.*train.py"], capture_output=True, text=True)
    for pid in job.stdout.split():
        os.kill(int(pid), 9)
    first.wait(timeout=120)
    assert first.returncode != 0 and job.stdout.strip(), first.stdout.read()[-3000:]
    assert not (workdir / target).exists()

    second = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    info = json.loads((workdir / target).read_text())
    assert info["resumed_after_epoch"] >= 1
    log = (workdir / "results/logs/train/slow.log").read_text()
    assert "resuming after epoch" in log
    # Snakemake deleted the killed job's log; what it said comes back at the top of the new one.
    earlier = log.split("the earlier attempts' log:")[1].split("---- end of the earlier log ----")[0]
    assert "run slow: preset pytorch-gan on cpu" in earlier
    assert sorted(p.name for p in (workdir / "results/runs/slow/checkpoints").iterdir())[-1] == "epoch_0004.pt"
    assert (workdir / "results/runs/slow/resume/state.pt").exists()  # raising the epochs would go on from it


def test_full_datasets_come_from_a_folder_and_a_file_url(repo, tmp_path, datasets_dir):
    """The download and normalize rules on the real files, from the two kinds of local mirror (1,000 training
    images kept, so the test stays quick)."""
    from genzoo import sources as sources_module

    workdir = copy_workflow(repo, tmp_path / "real")
    fashion_url = (datasets_dir / "fashion-mnist").resolve().as_uri()
    sources = {"mnist": str(datasets_dir / "mnist"), "fashion-mnist": fashion_url}

    def real_data(cfg):
        cfg["datasets"] = {
            name: {"source": name, "mirrors": [mirror], "train_subset": 1000} for name, mirror in sources.items()
        }
        cfg["runs"] = {"gan": {**cfg["runs"]["gan"], "dataset": "mnist"}}

    config = write_config(workdir, "real.yaml", real_data)
    targets = ["results/data/mnist/stats.json", "results/data/fashion-mnist/stats.json"]
    result = snakemake(workdir, "--keep-going", *targets, config=config)  # a flag ends --configfile's list
    assert result.returncode == 0, result.stderr[-3000:]
    for name, mirror in sources.items():
        stats = json.loads((workdir / f"results/data/{name}/stats.json").read_text())
        assert (stats["train"]["count"], stats["test"]["count"]) == (1000, 10_000)
        checked = json.loads((workdir / f"results/data/{name}/raw/checksums.json").read_text())
        pinned = {known.name: known.sha256 for known in sources_module.DATASETS[name].files}
        assert {record["file"]: record["sha256"] for record in checked} == pinned
        assert {record["verified_by"] for record in checked} <= {"archive md5", "content sha256"}
        assert all(record["from"].startswith(mirror) for record in checked)
    assert json.loads((workdir / "results/data/fashion-mnist/stats.json").read_text())["test"]["per_class"]["9"] == 1000


def test_a_pinned_classifier_replaces_the_trained_one_and_scores_as_it_did(repo, finished, tmp_path):
    """Another working folder that pins the finished workflow's classifier takes its file instead of training one,
    and scores real images with it exactly as the finished one did."""
    workdir = copy_workflow(repo, tmp_path / "pinned")
    made = finished / "results/classifiers/mnist-5k"
    (workdir / "pins").mkdir()
    shutil.copy(made / "classifier.pt", workdir / "pins" / "clf.pt")
    sha256 = json.loads((made / "classifier.json").read_text())["sha256"]

    def pinned(cfg):
        cfg["datasets"]["mnist-5k"]["classifier"] = {"file": "pins/clf.pt", "sha256": sha256}

    config = write_config(workdir, "pinned.yaml", pinned)
    jobs = planned_jobs(workdir, config)
    assert jobs["pinned_classifier"] == ["dataset=mnist-5k"] and "train_classifier" not in jobs
    target = "results/classifiers/mnist-5k/real_scores.json"
    result = snakemake(workdir, "--keep-going", target, config=config)  # a flag ends --configfile's list
    assert result.returncode == 0, result.stderr[-3000:]
    taken = workdir / "results/classifiers/mnist-5k/classifier.pt"
    assert taken.read_bytes() == (made / "classifier.pt").read_bytes()
    real = json.loads((workdir / target).read_text())
    assert real["classifier_sha256"] == sha256
    assert real["scores"] == json.loads((made / "real_scores.json").read_text())["scores"]

    (workdir / "pins").rename(workdir / "moved")  # where the file lies is no reason to score again

    def moved(cfg):
        cfg["datasets"]["mnist-5k"]["classifier"] = {"file": str(workdir / "moved" / "clf.pt"), "sha256": sha256}

    assert planned_jobs(workdir, write_config(workdir, "moved.yaml", moved), args=("--keep-going", target)) == {}


def test_seeds_plan_one_run_each_and_select_keeps_only_the_named_entries(fresh):
    def seeded(cfg):
        cfg["runs"]["gan"]["seeds"] = [1, 2]
        cfg["select"] = ["gan"]

    jobs = planned_jobs(fresh, write_config(fresh, "seeds.yaml", seeded))
    assert sorted(jobs["train"]) == ["run=gan-seed1", "run=gan-seed2"]
    assert sorted(jobs["evaluate"]) == ["run=gan-seed1", "run=gan-seed2"]
    assert len(jobs["summary"]) == 1 and len(jobs["train_classifier"]) == 1


def reproductions(repo: Path, *args: str | Path) -> subprocess.CompletedProcess:
    """benchmarks/reproductions.py with these folders and options."""
    script = repo / "benchmarks" / "reproductions.py"
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True)


def test_reproductions_table_has_a_row_per_entry_and_draws_the_final_grids(repo, finished, tmp_path):
    out = tmp_path / "grids.png"
    result = reproductions(repo, finished, "--grids", out)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert sorted(row.split(" | ")[0].strip("| `") for row in rows) == sorted(
        run["preset"] for run in TINY["runs"].values()
    )
    summary = pd.read_csv(finished / "results/summary.csv").set_index("preset")
    gan = next(row for row in rows if row.startswith("| `pytorch-gan`")).split(" | ")
    assert gan[1] == "3 × 8 of 64 = 24"  # 512 training digits, batches of 64
    from genzoo.scores import format_score

    best = summary.loc["pytorch-gan"]
    assert gan[4] == f"{format_score(best['best_fid'], 'fid')} ({best['best_epoch']})"
    with Image.open(out) as image:
        assert image.size[1] == 260  # three grids: one row


def another_seed(finished: Path, folder: Path, **changes) -> pd.Series:
    """A folder of its own holding a second seed of the finished workflow's pytorch-gan entry: its run's epoch table,
    scores and train_info, the dataset's stats and real-vs-real scores and a summary row, with the row's columns
    changed as asked (its run's name and seed too)."""
    summary = pd.read_csv(finished / "results/summary.csv")
    row = summary[summary["preset"] == "pytorch-gan"].iloc[0].copy()
    seed = changes.get("seed", row["seed"] + 1)
    run = changes.get("run", f"{row['run']}-seed{seed}")
    for name in ("train_info.json", "losses_epochs.csv", "metrics.csv"):
        (folder / "results/runs" / run).mkdir(parents=True, exist_ok=True)
        shutil.copy(finished / "results/runs" / row["run"] / name, folder / "results/runs" / run / name)
    for results in ("data", "classifiers"):  # the weights stay behind: nothing here reads them
        shutil.copytree(
            finished / "results" / results, folder / "results" / results, ignore=shutil.ignore_patterns("*.pt")
        )
    if "dataset" in changes:  # its real-vs-real scores under the dataset's name too (train_info keeps the data's)
        classifiers = folder / "results" / "classifiers"
        shutil.copytree(classifiers / row["dataset"], classifiers / changes["dataset"])
    row["run"], row["seed"], row["best_epoch"] = run, seed, row["best_epoch"] + 100
    row["best_fid"], row["final_fid"] = row["best_fid"] + 10, row["final_fid"] + 20
    for column, value in changes.items():
        row[column] = value
    pd.DataFrame([row]).to_csv(folder / "results/summary.csv", index=False)
    return row


def test_reproductions_table_counts_the_seeds_of_several_folders_as_one_entry(repo, finished, tmp_path):
    from genzoo.scores import format_spread

    second = another_seed(finished, tmp_path / "second")
    result = reproductions(repo, tmp_path / "second", finished)
    assert result.returncode == 0, result.stderr
    gan = next(line for line in result.stdout.splitlines() if line.startswith("| `pytorch-gan`")).split(" | ")
    first = pd.read_csv(finished / "results/summary.csv").set_index("preset").loc["pytorch-gan"]
    assert gan[2] == "2"
    # the first folder's seed comes second: an entry's runs are listed in seed order
    best = format_spread(pd.Series([first["best_fid"], second["best_fid"]]), "fid")
    assert gan[4] == f"{best} ({first['best_epoch']}, {second['best_epoch']})"
    assert gan[5] == format_spread(pd.Series([first["final_fid"], second["final_fid"]]), "fid")
    assert sum(line.startswith("| `") for line in result.stdout.splitlines()) == len(TINY["runs"])


def set_real_fid(folder: Path, dataset: str, fid: float) -> None:
    path = folder / "results/classifiers" / dataset / "real_scores.json"
    reference = json.loads(path.read_text())
    reference["scores"]["fid"] = fid
    path.write_text(json.dumps(reference))


def test_reproductions_draw_every_score_of_every_seed_beside_the_real_images(repo, finished, tmp_path):
    import reproductions as script

    second = another_seed(finished, tmp_path / "second")
    summary = script.load_summaries([finished, tmp_path / "second"])
    first = summary[(summary["preset"] == "pytorch-gan") & (summary["folder"] == finished)]["run"].item()
    metrics, entries = script.score_curves(summary)
    assert sorted(metrics) == sorted(summary["run"]) and second["run"] in metrics
    assert entries[second["run"]] == entries[first] == "gan"
    copied = pd.read_csv(tmp_path / "second/results/runs" / second["run"] / "metrics.csv")
    pd.testing.assert_frame_equal(metrics[second["run"]], copied)
    out = tmp_path / "curves.png"
    result = reproductions(repo, finished, tmp_path / "second", "--curves", out)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.size[0] > 1000 and image.size[1] > 600  # a grid of score panels


def test_reproductions_take_the_real_images_scores_from_the_first_folder_given(finished, tmp_path):
    import reproductions as script

    another_seed(finished, tmp_path / "second")
    [floor] = pd.read_csv(finished / "results/summary.csv")["fid_floor"].unique()
    set_real_fid(tmp_path / "second", "mnist-5k", floor + 5)
    assert script.real_scores(script.load_summaries([finished, tmp_path / "second"]))["mnist-5k"]["fid"] == floor
    assert script.real_scores(script.load_summaries([tmp_path / "second", finished]))["mnist-5k"]["fid"] == floor + 5


def test_reproductions_draw_a_moving_average_from_its_runs_averaged_scores(finished, tmp_path):
    import reproductions as script

    second = another_seed(finished, tmp_path / "second")
    scores_path = tmp_path / "second/results/runs" / second["run"] / "metrics.csv"
    scores = pd.read_csv(scores_path)
    scores.assign(ema_fid=scores["fid"] + 1, ema_classes_covered=10).to_csv(scores_path, index=False)
    averaged = second.copy()
    averaged["run"], averaged["entry"] = f"{second['run']}+ema", "gan+ema"
    pd.DataFrame([second, averaged]).to_csv(tmp_path / "second/results/summary.csv", index=False)
    metrics, entries = script.score_curves(script.load_summaries([tmp_path / "second"]))
    assert entries[averaged["run"]] == "gan+ema"
    assert metrics[averaged["run"]]["fid"].tolist() == (scores["fid"] + 1).tolist()
    assert metrics[averaged["run"]]["classes_covered"].eq(10).all()
    assert metrics[second["run"]]["fid"].tolist() == scores["fid"].tolist()


def test_reproductions_draw_the_scores_of_several_datasets_apart(finished, tmp_path):
    import reproductions as script

    first = pd.read_csv(finished / "results/summary.csv").query("preset == 'pytorch-gan'").iloc[0]
    # a run of the same name and seed on another dataset, as config/mnist.yaml and config/fashion.yaml make them
    another_seed(finished, tmp_path / "other", dataset="another-dataset", run=first["run"], seed=first["seed"])
    set_real_fid(tmp_path / "other", "another-dataset", first["fid_floor"] + 5)
    summary = script.load_summaries([finished, tmp_path / "other"])
    metrics, entries = script.score_curves(summary)
    assert len(metrics) == len(summary)
    assert entries[f"another-dataset/{first['run']}"] == "another-dataset/gan"
    assert entries[f"mnist-5k/{first['run']}"] == "mnist-5k/gan"
    real = script.real_scores(summary)
    assert real["mnist-5k"]["fid"] == first["fid_floor"] and real["another-dataset"]["fid"] == first["fid_floor"] + 5


def test_reproductions_give_a_dataset_a_table_of_its_own(repo, finished, tmp_path):
    another_seed(finished, tmp_path / "other", dataset="another-dataset")
    result = reproductions(repo, finished, tmp_path / "other")
    assert result.returncode == 0, result.stderr
    tables = result.stdout.split("another-dataset:\n")
    assert len(tables) == 2 and tables[0].startswith("mnist-5k:\n")
    assert [line.split(" | ")[2] for line in tables[1].splitlines() if line.startswith("| `")] == ["1"]
    assert sum(line.startswith("| `pytorch-gan`") for line in tables[0].splitlines()) == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"classifier_sha256": "0" * 64}, "mnist-5k: the folders' runs were scored with different classifiers"),
        ({"n_generated": 7}, "mnist-5k: the folders' runs were scored with different numbers of samples"),
        ({"epochs": 99}, "mnist-5k: the runs of gan differ in epochs"),
    ],
)
def test_reproductions_refuse_seeds_that_do_not_compare(repo, finished, tmp_path, change, message):
    [value] = change.values()
    another_seed(finished, tmp_path / "other", **change)
    result = reproductions(repo, finished, tmp_path / "other")
    assert result.returncode != 0 and message in result.stderr
    assert f"{value} in {tmp_path / 'other'}" in result.stderr  # each value named with its folder


def test_reproductions_refuse_a_seed_found_in_two_folders(repo, finished):
    result = reproductions(repo, finished, finished)
    assert result.returncode != 0
    assert f"of gan is in {finished} and {finished}: give one of those folders only" in result.stderr
