"""The benchmark scripts keep working and compare like with like (their figures are not asserted)."""

import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pandas as pd
import pytest
import torch
import yaml


@pytest.fixture(scope="module")
def throughput():
    import throughput

    return throughput


def test_reference_dataset_yields_the_workflows_images(throughput, mnist_5k_splits, tmp_path):
    """The reference loop's per-item PIL transforms must produce the tensors the workflow trains on."""
    from genzoo import data

    images, labels = data.load_split(mnist_5k_splits["train"])
    images, labels = throughput.tiled(images[:50], labels[:50], 120)
    assert images.shape[0] == 120 and torch.equal(images[100], images[0])
    for pixel_range in ("tanh", "sigmoid"):
        dataset = throughput.reference_dataset(tmp_path / pixel_range, images, labels, pixel_range)
        expected = data.from_unit_range(images, pixel_range)
        assert len(dataset) == 120
        for index in (0, 7, 119):
            image, label = dataset[index]
            assert label == int(labels[index])
            torch.testing.assert_close(image, expected[index], atol=1e-6, rtol=0)


def test_variants_parse_into_run_options(throughput):
    assert throughput.parse_variant("bf16+compile") == (
        {"precision": "bf16", "compile": True, "cuda_graph": False},
        None,
        False,
    )
    assert throughput.parse_variant("fp32+nchw+graph")[1] is False
    assert throughput.parse_variant("fp32+nhwc")[1] is True
    with pytest.raises(SystemExit, match="names two layouts"):
        throughput.parse_variant("fp32+nhwc+nchw")
    assert throughput.parse_variant("fp32+graph+autotune") == (
        {"precision": "fp32", "compile": False, "cuda_graph": True},
        None,
        True,
    )
    with pytest.raises(SystemExit, match="'fp16' is not fp32|bf16"):
        throughput.parse_variant("fp16")
    assert throughput.parse_variant("fp32+unfused")[0]["adam"] == "default"
    assert throughput.parse_variant("bf16+graph+fused")[0]["adam"] == "fused"
    with pytest.raises(SystemExit, match="names two Adams"):
        throughput.parse_variant("fp32+fused+unfused")


def test_throughput_refuses_a_variant_a_preset_cannot_take_before_measuring_anything(repo, tmp_path):
    split = tmp_path / "train.pt"
    split.write_bytes(b"")  # never read: the refusal comes first
    command = [sys.executable, "benchmarks/throughput.py", "--presets", "tf-dcgan,dlwp1-gan", "--train", str(split)]
    result = subprocess.run([*command, "--variants", "fp32+fused"], cwd=repo, capture_output=True, text=True)
    assert result.returncode != 0 and result.stdout == ""
    assert "--variants fp32+fused on dlwp1-gan:" in result.stderr and "trains with rmsprop, not Adam" in result.stderr


@pytest.mark.slow  # runs the benchmark script
def test_throughput_benchmark_prints_both_loops(repo, mnist_5k_splits):
    command = [sys.executable, "benchmarks/throughput.py", "--presets", "pytorch-gan", "--images", "256"]
    command += ["--repeats", "1", "--train", str(mnist_5k_splits["train"])]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    rows = [line for line in output.splitlines() if line.startswith("| pytorch-gan | 64 |")]
    assert [row.split(" | ")[2] for row in rows] == ["reference, 0 workers", "workflow, fp32"]
    assert rows[0].endswith("| 1.00 |")


@pytest.mark.slow  # runs the benchmark script
def test_dry_run_benchmark_plans_the_whole_grid(repo, tmp_path):
    runs, epochs = 3, 4
    command = [sys.executable, "benchmarks/dryrun.py", "--runs", str(runs), "--epochs", str(epochs), "--repeats", "1"]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    per_run = ["train", "evaluate", *["render_frame"] * epochs, "gif", "plot_losses", "run_page"]
    vae_only = ["render_manifold", "manifold_gif"]  # the grid's dlwp-vae run
    once = ["download", "normalize", "train_classifier", "real_scores", "summary", "leaderboard_page", "all"]
    assert f"grid of {runs} runs x {epochs} epochs from scratch" in output
    assert f", {runs * len(per_run) + len(vae_only) + len(once)} jobs" in output


@pytest.fixture(scope="module")
def pipeline():
    import pipeline

    return pipeline


def test_pipeline_precision_override_changes_only_the_precision(repo, pipeline):
    original = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    overridden = pipeline.config_variant(repo / "config" / "config.yaml", precision="bf16")
    assert set(overridden["runs"]) == set(original["runs"])
    for name, run in overridden["runs"].items():
        assert run.pop("precision") == "bf16"
        original["runs"][name].pop("precision", None)
        assert run == original["runs"][name]
    assert {k: v for k, v in overridden.items() if k != "runs"} == {k: v for k, v in original.items() if k != "runs"}


def test_pipeline_budget_scales_each_runs_own_epochs_and_holds_the_seeds(repo, pipeline):
    """The reproduction config at a fraction of its budgets: every run's epochs scale, never below one; seeds are
    replaced; a budget given in steps becomes epochs."""
    from genzoo.config import check_config, resolve_run

    original = yaml.safe_load((repo / "config" / "mnist.yaml").read_text())
    variant = pipeline.config_variant(repo / "config" / "mnist.yaml", seeds=[1], budget=0.1)
    check_config(variant)
    for name, run in variant["runs"].items():
        full = resolve_run(original, name)["epochs"]
        assert run["epochs"] == max(1, int(full * 0.1 + 0.5)) and "steps" not in run, name
        assert run["seeds"] == [1]
    assert variant["runs"]["tf-basic-gan"]["epochs"] == 233  # 2,327 epochs
    assert variant["runs"]["dlwp1-gan"]["epochs"] == 10  # 10,000 steps of 100 a epoch
    assert variant["runs"]["cs231n-dcgan"]["epochs"] == 1  # 5 epochs: 0.5 rounds to 0, held to 1
    in_steps = pipeline.config_variant(repo / "config" / "zoo.yaml", budget=0.5)["runs"]["dlwp1-gan"]
    assert in_steps["epochs"] == 2 and "steps" not in in_steps  # 200 steps of 50 a epoch


@pytest.mark.slow  # runs the whole tiny workflow twice over
def test_pipeline_benchmark_times_the_data_apart_from_the_rest(repo, tmp_path):
    command = [sys.executable, "benchmarks/pipeline.py", "--config", "tests/data/tiny.yaml", "--cores", "2"]
    command += ["--seeds", "1", "2", "--budget", "0.5", "--keep", str(tmp_path / "bench")]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    lines = {line.split("  ")[0]: line for line in output.splitlines()}
    assert "seeds [1, 2], 0.5 of each run's epochs" in lines["config"]
    assert " 4 jobs (first call)" in lines["data, classifiers"]  # download, normalize, classifier, floor
    assert "train_classifier" in lines["data, classifiers"]  # printed before the second call, by rule
    by_rule = lines["jobs one by one"].split(": ", 1)[1]
    assert {part.split()[0] for part in by_rule.split(", ")} >= {"train", "evaluate", "render_frame", "gif"}
    assert "train_classifier" not in by_rule  # the first call's jobs stay out of the sum
    runs = sorted((tmp_path / "bench" / "results" / "runs").iterdir())
    assert [run.name for run in runs] == [f"{name}-seed{seed}" for name in ("dcgan", "gan", "vae") for seed in (1, 2)]
    epochs = [len((run / "losses_epochs.csv").read_text().splitlines()) - 1 for run in runs]
    assert epochs == [1, 1, 2, 2, 1, 1]  # tiny.yaml's 2, 3 and 2 epochs, halved and rounded half up


@pytest.mark.slow  # starts three training processes
def test_gpu_sharing_benchmark_times_k_jobs_started_together(repo, mnist_5k_splits):
    command = [sys.executable, "benchmarks/gpu_sharing.py", "--device", "cpu", "--variant", "fp32", "--jobs", "1", "2"]
    command += [
        "--presets",
        "pytorch-gan",
        "--images",
        "128",
        "--epochs",
        "1",
        "--train",
        str(mnist_5k_splits["train"]),
    ]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    rows = [line.split(" | ") for line in output.splitlines() if line.startswith("| pytorch-gan |")]
    assert [row[1] for row in rows] == ["1", "2"] and rows[0][3] == "1.00"
    assert all(float(row[2].replace(",", "")) > 0 for row in rows)


def results_with_a_classifier(splits: dict, root: Path, real_scores_n: int | None = None) -> Path:
    """A finished workflow's results folder as the scoring scripts read it: the embedded digits' splits, a classifier
    trained for one epoch and, with real_scores_n, its real-vs-real scores at that sample size."""
    import shutil

    from genzoo import classifier, real_scores

    results = root / "results"
    (results / "data").mkdir(parents=True)
    shutil.copytree(splits["root"], results / "data" / "mnist-5k", ignore=shutil.ignore_patterns("raw"))
    folder = results / "classifiers" / "mnist-5k"
    folder.mkdir(parents=True)
    classifier.train_classifier(
        splits["train"], splits["test"], folder / "classifier.pt", folder / "classifier.json",
        epochs=1, batch_size=64, lr=1e-3, seed=0,
    )  # fmt: skip
    if real_scores_n is not None:
        real_scores.real_reference(
            folder / "classifier.pt", folder / "classifier.json", splits["train"], splits["test"],
            folder / "real_scores.json", SCORING | {"n_samples": real_scores_n},
        )  # fmt: skip
    return results


SCORING = {"seed": 4, "coverage_threshold": 0.025, "kid_subsets": 10, "kid_subset_size": 100}


@pytest.mark.slow  # trains a classifier for a second, then runs the benchmark script
def test_scoring_benchmark_times_each_part_of_an_evaluate_job(repo, mnist_5k_splits, tmp_path):
    results = results_with_a_classifier(mnist_5k_splits, tmp_path)
    command = [sys.executable, "benchmarks/scoring.py", "--results", str(results), "--dataset", "mnist-5k"]
    command += ["--n", "300", "--kid-subset-size", "100", "--repeats", "1"]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    (row,) = [line.split(" | ") for line in output.splitlines() if line.startswith("| CPU |")]
    seconds, fid = [float(cell.strip(" |")) for cell in row[1:-1]], float(row[-1].strip(" |"))
    assert len(seconds) == 3 and min(seconds) >= 0 and sum(seconds) > 0 and fid > 0


def test_reproduction_minutes_span_every_attempt_of_a_resumed_run(tmp_path):
    """A run stopped and resumed has one epoch table over all attempts; train_info.json times the last one only."""
    import reproductions

    (tmp_path / "losses_epochs.csv").write_text(
        "epoch,step,g_loss,seconds,images_per_s\n1,5,0.7,60.0,9\n2,10,0.6,120.5,9\n"
    )
    assert reproductions.training_seconds(tmp_path) == 180.5


@pytest.mark.slow  # trains a classifier for a second, then runs the script twice
def test_checkpoints_made_outside_the_workflow_score_as_the_evaluate_rule_scores_them(repo, mnist_5k_splits, tmp_path):
    import json

    import pandas as pd
    from conftest import resolved_run
    from genzoo import evaluation, files, models

    results = results_with_a_classifier(mnist_5k_splits, tmp_path, real_scores_n=200)
    folder = results / "classifiers" / "mnist-5k"
    settings = SCORING | {"n_samples": 200}
    torch.manual_seed(0)  # a generator as a reference's script would save it: its state_dict, nothing else
    run = resolved_run("pytorch-gan", epochs=1, checkpoint_every=1)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    generator = models.build(run["architecture"], run["latent_dim"])["generator"]
    files.save_torch(checkpoints / "epoch_0001.pt", {"nets": {"generator": generator.state_dict()}})

    evaluation.evaluate_run(
        run, checkpoints, folder / "classifier.pt", folder / "real_scores.json", mnist_5k_splits["test"],
        tmp_path / "metrics", tmp_path / "metrics.csv", settings,
    )  # fmt: skip
    command = [sys.executable, "benchmarks/score_checkpoints.py", "--results", str(results), "--dataset", "mnist-5k"]
    command += ["--preset", "pytorch-gan", "--csv", str(tmp_path / "scored.csv"), str(checkpoints / "epoch_0001.pt")]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    assert "| epoch_0001.pt |" in output
    by_rule, by_script = pd.read_csv(tmp_path / "metrics.csv"), pd.read_csv(tmp_path / "scored.csv")
    scores = [column for column in by_rule.select_dtypes("number").columns if column in by_script and column != "epoch"]
    assert {"fid", "kid_mean", "inception_score", "precision", "coverage", "classes_covered"} <= set(scores)
    assert by_script[scores].iloc[0].to_dict() == by_rule[scores].iloc[0].to_dict()

    def refusal(checkpoint) -> str:
        failed = subprocess.run([*command[:-1], str(checkpoint)], cwd=repo, capture_output=True, text=True)
        assert failed.returncode == 1
        return failed.stderr

    vae = models.build("keras-vae", 2)["generator"].state_dict()
    files.save_torch(checkpoints / "vae.pt", {"nets": {"generator": vae}})
    message = refusal(checkpoints / "vae.pt")
    assert "not a generator checkpoint of run pytorch-gan" in message and "delete" not in message
    assert "no checkpoint file" in refusal(checkpoints / "missing.pt")
    reference = json.loads((folder / "real_scores.json").read_text())
    (folder / "real_scores.json").write_text(json.dumps({**reference, "precision_recall_k": 4}))  # older code's k
    assert "was made with other evaluation settings (precision_recall_k)" in refusal(checkpoints / "epoch_0001.pt")
    (folder / "real_scores.json").write_text(json.dumps({**reference, "classifier_sha256": "0" * 64}))
    assert "was made with another classifier than" in refusal(checkpoints / "epoch_0001.pt")


@pytest.mark.slow  # trains a classifier for a second and four tiny runs
def test_precision_seeds_trains_both_precisions_per_seed_and_scores_their_last_checkpoints(
    repo, mnist_5k_splits, first_train_images, tmp_path
):
    import shutil

    results = results_with_a_classifier(mnist_5k_splits, tmp_path, real_scores_n=200)
    (results / "data" / "mnist-5k" / "stats.json").unlink()  # its train.pt becomes a smaller one
    shutil.copyfile(first_train_images(128), results / "data" / "mnist-5k" / "train.pt")
    command = [sys.executable, "benchmarks/precision_seeds.py", "--results", str(results), "--preset", "pytorch-gan"]
    command += ["--epochs", "1", "--batch-size", "64", "--seeds", "1", "2"]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    rows = [line.split(" | ") for line in output.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert [(row[0], row[1]) for row in rows] == [("| 1", "fp32"), ("| 1", "bf16"), ("| 2", "fp32"), ("| 2", "bf16")]
    fids = [float(row[2]) for row in rows]
    assert min(fids) > 0 and len(set(fids)) > 1  # other seeds train other generators
    assert "fp32: " in output and "bf16: " in output and "Welch's t (bf16 - fp32): " in output


def test_mps_without_its_control_program_says_what_is_missing(tmp_path, monkeypatch):
    import mps

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="nvidia-cuda-mps-control not found on PATH"), mps.mps_server(tmp_path):
        pass


def test_mps_daemon_is_started_for_the_block_and_quit_after_it(tmp_path, monkeypatch):
    """With a stand-in control program that records its calls and makes the pipe folder the daemon would: the block
    sees the daemon's folders in its environment, which is restored after."""
    import mps

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    control = bin_dir / "nvidia-cuda-mps-control"
    control.write_text(
        '#!/bin/sh\necho "$@ $(cat)" >> "$CUDA_MPS_LOG_DIRECTORY/calls"\n'
        '[ "$1" = -d ] && touch "$CUDA_MPS_PIPE_DIRECTORY/control"\nexit 0\n'
    )
    control.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("CUDA_MPS_PIPE_DIRECTORY", raising=False)
    with mps.mps_server(tmp_path / "mps") as env:
        assert os.environ["CUDA_MPS_PIPE_DIRECTORY"] == env["CUDA_MPS_PIPE_DIRECTORY"] == str(tmp_path / "mps" / "pipe")
        seen = subprocess.run(["sh", "-c", "echo $CUDA_MPS_LOG_DIRECTORY"], capture_output=True, text=True).stdout
        assert seen.strip() == str(tmp_path / "mps" / "log")
    assert "CUDA_MPS_PIPE_DIRECTORY" not in os.environ
    assert (tmp_path / "mps" / "log" / "calls").read_text().split("\n")[:2] == ["-d ", " quit"]
    with mps.mps_server() as env:  # in a folder of its own, removed after
        own = Path(env["CUDA_MPS_LOG_DIRECTORY"]).parent
        assert (own / "pipe" / "control").exists() and own != tmp_path / "mps"
    assert not own.exists() and "CUDA_MPS_LOG_DIRECTORY" not in os.environ


def test_reference_losses_put_a_scripts_printed_losses_beside_a_runs_epoch_table(tmp_path):
    """PyTorch-GAN prints epochs from 0 and any sample of batches; the workflow counts epochs from 1. Window means
    of both, a running run read from its resume state, and a log with no loss line refused by name."""
    import reference_losses

    log = tmp_path / "ref.log"
    lines = ["Namespace(n_epochs=4)"]
    for epoch in range(4):
        for batch, (d, g) in enumerate([(0.5, 1.0), (0.3, 3.0)]):
            lines.append(f"[Epoch {epoch}/4] [Batch {batch * 200}/938] [D loss: {d + epoch / 10:f}] [G loss: {g:f}]")
    log.write_text("\n".join(lines) + "\n")
    finished, running = tmp_path / "gan-seed1", tmp_path / "gan-seed2"
    finished.mkdir()
    (running / "resume").mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2, 3, 4], "step": [9] * 4, "d_loss": [0.2] * 4, "g_loss": [2.0, 4.0, 6.0, 8.0]}).to_csv(
        finished / "losses_epochs.csv", index=False
    )
    pd.DataFrame({"epoch": [1, 1, 2], "step": [1, 2, 3], "d_loss": [0.1, 0.3, 0.5], "g_loss": [1.0] * 3}).to_csv(
        running / "resume" / "losses_steps.csv", index=False
    )
    sources = {"ref": reference_losses.reference_losses(log)}
    sources |= {folder.name: reference_losses.run_losses(folder) for folder in (finished, running)}
    assert sources["ref"]["epoch"].tolist() == [1, 2, 3, 4]
    assert sources["ref"]["d_loss"].round(3).tolist() == [0.4, 0.5, 0.6, 0.7]
    assert sources["gan-seed2"].round(3).values.tolist() == [[1, 0.2, 1.0], [2, 0.5, 1.0]]
    rows = reference_losses.table(sources, window=2).splitlines()
    assert rows[0] == "| epochs | ref: D, G | gan-seed1: D, G | gan-seed2: D, G |"
    assert rows[2:] == ["| 1–2 | 0.450, 2.00 | 0.200, 3.00 | 0.350, 1.00 |", "| 3–4 | 0.650, 2.00 | 0.200, 7.00 |  |"]
    reference_losses.plot(sources, {"ref"}, tmp_path / "losses.png")
    assert (tmp_path / "losses.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "empty.log").write_text("Namespace(n_epochs=4)\n")
    with pytest.raises(SystemExit, match=r"empty.log: no line of the form \[Epoch"):
        reference_losses.reference_losses(tmp_path / "empty.log")


@pytest.mark.slow  # trains two one-epoch runs
def test_regime_probe_prints_epoch_losses_the_reference_reader_takes(repo, mnist_5k_splits, tmp_path):
    """Each probe epoch is one line in PyTorch-GAN's log format; the reference's Adam and the fused one start from
    the same weights and noise, and part by rounding only."""
    import reference_losses

    logs = {}
    for adam in ("default", "fused"):
        command = [sys.executable, "benchmarks/gan_regime_probe.py", "--train", str(mnist_5k_splits["train"])]
        command += ["--epochs", "2", "--adam", adam, "--out", str(tmp_path / adam), "--save-every", "5"]
        logs[adam] = tmp_path / f"{adam}.log"
        logs[adam].write_text(subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout)
    default, fused = (reference_losses.reference_losses(logs[adam]) for adam in ("default", "fused"))
    assert default["epoch"].tolist() == [1, 2] and default["d_loss"].between(0.05, 1.5).all()
    assert (default["d_loss"] - fused["d_loss"]).abs().max() < 0.05
    saved = torch.load(tmp_path / "default" / "epoch_0002.pt", weights_only=True)  # the last epoch, always
    assert saved["epoch"] == 2 and set(saved["nets"]) == {"generator"}
    assert sorted(path.name for path in (tmp_path / "default").iterdir()) == ["epoch_0002.pt"]


def test_denormals_benchmark_times_an_epoch_from_a_state_with_subnormal_moments_each_way(
    repo, first_train_images, tmp_path
):
    """A saved state as a long run's: the generator's output saturated at a border pixel (exactly 0, no gradient
    through it), so the discriminator's weights from that pixel, black in every digit, get no gradient either and
    their Adam moments have decayed into subnormals. Kept, they stay; flushed, they are gone; the weights come out
    the same."""
    from conftest import resolved_run
    from genzoo import files, training

    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormal floats")
    train = first_train_images(96)
    run = resolved_run("tf-basic-gan", epochs=1, batch_size=32, seed=3)
    training.train(run, str(train), tmp_path / "c", tmp_path / "s", tmp_path / "steps.csv", tmp_path / "epochs.csv",
                   tmp_path / "info.json", resume_dir=tmp_path / "resume")  # fmt: skip
    torch.set_flush_denormal(False)  # the training left this process flushing them, as its preset does
    state = files.load_torch(tmp_path / "resume" / "state.pt")
    state["nets"]["generator"]["model.2.bias"][0] = -200.0  # sigmoid(-200) is 0.0 in float32, its gradient too
    first_layer = state["optimizers"]["discriminator"]["state"][0]  # Linear(784, 128)'s weight
    assert first_layer["exp_avg_sq"].shape == (128, 784)
    first_layer["exp_avg"][:, 0] = 0.0  # the corner pixel's column
    first_layer["exp_avg_sq"][:, 0] = 1e-40  # below float32's smallest normal, 1.18e-38
    files.save_torch(tmp_path / "state.pt", state)

    command = [sys.executable, "benchmarks/denormals.py", "--state", str(tmp_path / "state.pt"), "--train", str(train)]
    command += ["--preset", "tf-basic-gan", "--set", "batch_size=32", "seed=3", "--repeats", "1"]
    output = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True).stdout
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[-1] for line in output.splitlines() if line[:2] == "| "}
    assert "tf-basic-gan, state after epoch 1 (step 3), 96 images" in output
    kept_before, kept_after = (int(n.replace(",", "")) for n in re.findall(r"([\d,]+) (?:of|→)", rows["kept"] + " →"))
    assert kept_before == 128 and kept_after >= 128  # decayed by beta2 each step, still subnormal
    assert rows["flushed to zero"].startswith("128 of ") and rows["flushed to zero"].endswith("→ 0 |")
    assert "weights after the epoch: bit-identical" in output  # a weight without gradient moves neither way


def trained_by_torchs_adam(run: dict, gradients: list[torch.Tensor], match_adam=None) -> torch.Tensor:
    """A float64 weight the preset's Adam moves by the gradients, match_adam(optimizer, eps, t) called before step t."""
    from genzoo import training

    param = torch.nn.Parameter(torch.zeros(len(gradients[0]), dtype=torch.float64))
    optimizer = training.make_optimizers(run, {"generator": torch.nn.ParameterList([param])})["generator"]
    for t, gradient in enumerate(gradients, start=1):
        if match_adam:
            match_adam(optimizer, run["optimizer_eps"], t)
        param.grad = gradient.clone()
        optimizer.step()
    return param.detach()


# Gradients of 1e-7 (where epsilon's place matters) and of 1 (where Keras' float32 betas do), in float64.
ADAM_GRADIENTS = [
    torch.randn(50, generator=torch.Generator().manual_seed(t), dtype=torch.float64)
    * torch.tensor([1e-7, 1.0]).repeat(25)
    for t in range(5)
]


def test_match_keras_adam_makes_torchs_adam_take_keras_steps():
    """Keras 3's Adam.update_step as written: beta powers of ops.cast(beta) (a float32 tensor first), the moments
    decayed by the Python floats, w -= m * lr * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps)."""
    import keras_check
    import numpy as np
    from conftest import resolved_run

    for preset in ("tf-dcgan", "cs231n-gan"):  # betas (0.9, 0.999) and (0.5, 0.999)
        run = resolved_run(preset)
        lr, (b1, b2), eps = run["lr_g"], run["betas"], run["optimizer_eps"]
        b1_32, b2_32 = float(np.float32(b1)), float(np.float32(b2))
        weight, m, v = torch.zeros(50, dtype=torch.float64), 0.0, 0.0
        for t, gradient in enumerate(ADAM_GRADIENTS, start=1):
            m, v = m + (gradient - m) * (1 - b1), v + (gradient**2 - v) * (1 - b2)
            weight -= m * (lr * (1 - b2_32**t) ** 0.5 / (1 - b1_32**t)) / (v.sqrt() + eps)

        torch.testing.assert_close(
            trained_by_torchs_adam(run, ADAM_GRADIENTS, keras_check.match_keras_adam), weight, rtol=1e-12, atol=0
        )
        as_trained = trained_by_torchs_adam(run, ADAM_GRADIENTS)
        assert ((as_trained - weight).abs() / weight.abs()).max() > 1e-2  # epsilon's place, at the small gradients


def test_match_tf1_adam_makes_torchs_adam_take_tensorflow_1_steps():
    """TF1's ApplyAdam with every hyperparameter a float32 number cast to the variables' float64, its beta powers
    float32 variables multiplied by the float32 betas once a step."""
    import keras_check
    import numpy as np
    from conftest import resolved_run

    run = resolved_run("tf-basic-gan")
    lr, b1, b2, eps = (float(np.float32(x)) for x in (run["lr_g"], *run["betas"], run["optimizer_eps"]))
    weight, m, v = torch.zeros(50, dtype=torch.float64), 0.0, 0.0
    power1, power2 = np.float32(b1), np.float32(b2)
    for gradient in ADAM_GRADIENTS:
        m, v = m + (gradient - m) * (1 - b1), v + (gradient**2 - v) * (1 - b2)
        weight -= m * (lr * (1 - float(power2)) ** 0.5 / (1 - float(power1))) / (v.sqrt() + eps)
        power1, power2 = np.float32(power1 * np.float32(b1)), np.float32(power2 * np.float32(b2))

    ours = trained_by_torchs_adam(run, ADAM_GRADIENTS, keras_check.match_tf1_adam)
    torch.testing.assert_close(ours, weight, rtol=1e-12, atol=0)
    assert ((trained_by_torchs_adam(run, ADAM_GRADIENTS) - weight).abs() / weight.abs()).max() > 1e-3


def test_preset_copies_hand_each_draw_once_and_count_them():
    """The copies' step gets Keras' draws in the order it makes them; one too few or too many stops the check."""
    import keras_check
    from conftest import resolved_run
    from genzoo import sampling, training

    run = resolved_run("cs231n-gan")
    initial = {name: net.state_dict() for name, net in training.build_nets(run, torch.device("cpu")).items()}

    def copies(match=keras_check.match_keras_adam):
        fill = lambda nets: [net.load_state_dict(initial[name]) for name, net in nets.items()]  # noqa: E731
        sites = {"noise": keras_check.DrawSite(sampling, "sample_noise")}
        return keras_check.PresetCopies(run, fill, sites, torch.float64, match)

    real = torch.rand(128, 1, 28, 28, dtype=torch.float64) * 2 - 1
    noises = [torch.rand(128, 96, dtype=torch.float64) * 2 - 1 for _ in range(3)]
    theirs = {"g_loss": 0.0, "d_loss": 0.0}
    with pytest.raises(SystemExit, match="the preset's step draws noise more often than the 1 given"):
        copies().step(theirs, real, {"noise": noises[:1]}, 1)
    with pytest.raises(SystemExit, match="the preset's step drew noise 2 times, not the 3 given"):
        copies().step(theirs, real, {"noise": noises}, 1)
    with pytest.raises(SystemExit, match=r"draws given for \['epsilon'\], the step draws at \['noise'\]"):
        copies().step(theirs, real, {"epsilon": noises}, 1)
    both = copies()
    assert both.names == ("as trained", "Keras' Adam")
    _, as_trained, keras_adam = both.step(theirs, real, {"noise": noises[:2]}, 1)
    assert as_trained["d_loss"] == keras_adam["d_loss"]  # one state, batch and draw before either Adam moves
    assert as_trained["g_loss"] != keras_adam["g_loss"]  # after D's first step, which the two Adams take apart
    assert all(p.dtype == torch.float64 for net in both.nets[both.matched].values() for p in net.parameters())
    with pytest.raises(SystemExit, match=r"asks for noise of \(128,\), the reference drew \(64, 96\)"):
        copies().step(theirs, real, {"noise": [noise[:64] for noise in noises[:2]]}, 1)
    assert torch.get_default_dtype() == torch.float32  # float64 only while a copy steps, failed steps included
    alone = copies(match=None)
    assert alone.names == ("as trained",) and alone.matched == "as trained"  # no optimizer matched: one copy
    assert len(alone.step(theirs, real, {"noise": noises[:2]}, 1)) == 2


def test_handed_draws_take_the_size_as_each_draw_asks_for_it():
    """A count (sample_noise), a tensor to draw like (randn_like), a shape as a tuple or torch.Size (rand)."""
    import keras_check

    drawn = [torch.zeros(4, 3), torch.ones(4, 3), torch.full((4, 3), 2.0), torch.full((4, 3), 3.0)]
    handed = keras_check.HandedDraws("noise", drawn)
    assert handed(4, {"latent_dim": 3}, "cpu") is drawn[0]
    assert handed(torch.empty(4, 3)) is drawn[1]
    assert handed((4, 3), device="cpu") is drawn[2]
    assert handed(torch.Size([4, 3])) is drawn[3]
    with pytest.raises(SystemExit, match=r"asks for noise of \(4, 7\), the reference drew \(4, 3\)"):
        keras_check.HandedDraws("noise", drawn)(4, 7)  # rand(4, 7): the whole shape checked
    with pytest.raises(SystemExit, match=r"asks for label noise of \(5, 1\), the reference drew \(4, 1\)"):
        keras_check.HandedDraws("label noise", [torch.zeros(4, 1)])(torch.Size([5, 1]))


def test_keras_2_0_8_is_asked_for_by_its_wheel(tmp_path):
    import keras_check

    with pytest.raises(SystemExit, match=r"Keras-2.0.8-py2.py3-none-any.whl not found: `pip download keras==2.0.8"):
        keras_check.import_keras_2_0_8(tmp_path / "Keras-2.0.8-py2.py3-none-any.whl")


def test_float64_kept_leaves_float64_as_it_is_while_it_lasts():
    """Inside, .float() keeps float64 tensors (and still casts others) and new tensors are float64; after, even
    after an error, torch is as before."""
    import keras_check

    x = torch.ones(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="inside"), keras_check.float64_kept():
        assert x.float() is x
        assert torch.ones(2, dtype=torch.float16).float().dtype == torch.float32
        assert torch.ones(2).dtype == torch.float64
        raise RuntimeError("inside")
    assert x.float().dtype == torch.float32 and torch.ones(2).dtype == torch.float32
    assert "float" not in torch.Tensor.__dict__


def test_handed_masks_drop_what_the_reference_dropped_and_scale_as_pytorch():
    """A dropout stand-in keeps exactly the mask's elements, scaled by 1 / (1 - p) as torch's own dropout scales the
    elements it keeps; in evaluation it passes its input through and takes no mask."""
    import keras_check

    x = torch.randn(6, 50, dtype=torch.float64)
    mask = (torch.rand(6, 50) > 0.4).to(torch.float64)
    dropout = torch.nn.Dropout(0.4)
    handed = keras_check.HandedMasks("dropout masks", [mask])
    with mock.patch.object(torch.nn.functional, "dropout", side_effect=handed):
        assert torch.equal(dropout.eval()(x), x)
        ours = dropout.train()(x)
    assert handed.handed == 1
    torch.testing.assert_close(ours, torch.where(mask.bool(), x / 0.6, torch.zeros_like(x)), rtol=1e-15, atol=0)
    ones = torch.ones(1000, dtype=torch.float64)
    kept_by_torch = torch.nn.functional.dropout(ones, 0.4)
    kept_by_mask = keras_check.HandedMasks("dropout masks", [(kept_by_torch > 0).double()])(ones, 0.4, True)
    assert torch.equal(kept_by_mask, kept_by_torch)  # torch's own scale, bit for bit
    with pytest.raises(SystemExit, match=r"asks for dropout masks of \(3, 50\), the reference drew \(6, 50\)"):
        keras_check.HandedMasks("dropout masks", [mask])(x[:3], 0.4, True)


def test_keras_layouts_turn_into_pytorchs():
    import keras_check
    import numpy as np

    features = np.random.default_rng(0).normal(size=(7, 7, 5))  # one (H, W, C) map, as Keras flattens it
    order = keras_check.channels_last_index(5, 7)
    np.testing.assert_array_equal(features.reshape(-1)[order], features.transpose(2, 0, 1).reshape(-1))

    # A Keras kernel (h, w, in, out) on an (N, H, W, C) image, 'valid' correlation written out, against Conv2d.
    rng = np.random.default_rng(1)
    kernel, image = rng.normal(size=(3, 2, 4, 6)), rng.normal(size=(2, 5, 6, 4))
    keras_output = np.zeros((2, 3, 5, 6))
    for i in range(3):
        for j in range(5):
            keras_output[:, i, j] = np.einsum("nhwc,hwco->no", image[:, i : i + 3, j : j + 2], kernel)
    ours = torch.nn.functional.conv2d(torch.from_numpy(image).permute(0, 3, 1, 2), keras_check.torch_kernel(kernel))
    # ConvTranspose2d is the adjoint of Conv2d with the same weight, as Conv2DTranspose is of Conv2D with its kernel.
    np.testing.assert_allclose(ours.permute(0, 2, 3, 1).numpy(), keras_output, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "script",
    [
        "cs231n_tf_batchnorm.py",
        "cs231n_tf_keras.py",
        "dlwp_vae_keras.py",
        "dlwp1_vae_keras.py",
        "dlwp1_gan_keras.py",
        "tf_basic_gan_tf1.py",
        "tf_dcgan_keras.py",
    ],
)
def test_the_keras_checks_say_what_they_need_without_tensorflow(repo, script):
    import importlib.util

    if importlib.util.find_spec("tensorflow"):
        pytest.skip("TensorFlow is installed here: the checks would run")
    done = subprocess.run([sys.executable, f"benchmarks/{script}"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "this check needs TensorFlow, which the workflow does not: pip install tensorflow-cpu"
    )
