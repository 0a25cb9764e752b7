"""A training job killed mid-epoch resumes from its last completed epoch and ends bit-identical; a finished run
goes on when its epochs are raised and reuses its files when they are lowered."""

import hashlib
import logging
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import resolved_run
from genzoo import codedeps, files, models, resume, training

TESTS = Path(__file__).resolve().parent
WORKFLOW = TESTS.parent / "workflow"
RUN_SETTINGS = {"preset": "pytorch-gan", "epochs": 4, "batch_size": 8, "seed": 3}


def make_run(**changes) -> dict:
    return resolved_run(**{key: value for key, value in (RUN_SETTINGS | changes).items() if value is not None})


def outputs(root):
    return {
        "checkpoints": root / "ckpt",
        "samples": root / "samples",
        "steps": root / "steps.csv",
        "epochs": root / "epochs.csv",
        "info": root / "info.json",
        "resume": root / "resume",
    }


def train_in_process(train_path, root, **changes) -> dict:
    paths = outputs(root)
    return training.train(
        make_run(**changes),
        str(train_path),
        paths["checkpoints"],
        paths["samples"],
        paths["steps"],
        paths["epochs"],
        paths["info"],
        resume_dir=paths["resume"],
    )


@pytest.fixture(scope="module")
def train_path(first_train_images):
    """960 digits, so that an epoch (120 steps) lasts long enough to be killed in the middle."""
    return first_train_images(960)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start_child(train_path, root) -> subprocess.Popen:
    code = (
        "import sys, pathlib, logging\n"
        "logging.basicConfig(level=logging.INFO)\n"  # as the workflow's scripts log
        f"sys.path[:0] = [{str(WORKFLOW)!r}, {str(TESTS)!r}]\n"
        "import test_resume\n"
        f"test_resume.train_in_process({str(train_path)!r}, pathlib.Path({str(root)!r}))\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # a child process trained, killed and trained again
def test_sigkill_mid_epoch_then_rerun_gives_the_uninterrupted_weights(train_path, tmp_path, caplog):
    uninterrupted = tmp_path / "uninterrupted"
    train_in_process(train_path, uninterrupted)

    killed = tmp_path / "killed"
    state_file = outputs(killed)["resume"] / resume.STATE_FILE
    child = start_child(train_path, killed)
    deadline = time.time() + 120
    while not state_file.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    busy = rf"another trainer \(PID {child.pid} on {socket.gethostname()}\) is training it in .*kill {child.pid} on"
    with pytest.raises(resume.TrainerBusy, match=busy):
        train_in_process(train_path, killed)  # a second trainer on the same run, while the first is alive
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()[-2000:]
    assert state_file.exists() and not outputs(killed)["info"].exists()
    completed_before_kill = files.load_torch(state_file)["epoch"]
    assert 1 <= completed_before_kill < RUN_SETTINGS["epochs"]

    caplog.set_level(logging.INFO)
    info = train_in_process(train_path, killed)  # the dead trainer's lock does not block
    assert info["resumed_after_epoch"] >= completed_before_kill
    earlier = caplog.text.split("the earlier attempts' log:")[1].split("---- end of the earlier log ----")[0]
    # What the killed attempt logged is kept (its epoch lines come after each saved state, so may miss the last).
    assert "run r: preset pytorch-gan on cpu" in earlier and "epoch 1/4" not in caplog.text.split(earlier)[1]
    for name in ("epoch_0001.pt", "epoch_0004.pt"):
        assert digest(killed / "ckpt" / name) == digest(uninterrupted / "ckpt" / name), name
    for name in ("samples/epoch_0004.npy", "steps.csv"):
        assert digest(killed / name) == digest(uninterrupted / name), name
    state = files.load_torch(outputs(killed)["resume"] / resume.STATE_FILE)  # kept: more epochs would go on from it
    assert (state["epoch"], state["epochs"]) == (4, 4)


def test_a_state_made_with_other_settings_is_not_resumed(tmp_path):
    resume_dir = tmp_path / "resume"
    (resume_dir / "checkpoints").mkdir(parents=True)
    (resume_dir / "checkpoints" / "epoch_0001.pt").write_bytes(b"stale")
    files.save_torch(resume_dir / resume.STATE_FILE, {"key": "other settings", "epoch": 3})
    assert resume.start(resume_dir, "these settings", make_run()) is None
    assert sorted(p.name for p in resume_dir.iterdir()) == ["checkpoints", "samples"]
    assert list((resume_dir / "checkpoints").iterdir()) == []


def test_a_corrupt_state_starts_afresh_instead_of_failing(tmp_path, caplog):
    resume_dir = tmp_path / "resume"
    resume_dir.mkdir()
    (resume_dir / resume.STATE_FILE).write_bytes(b"PK\x03\x04 truncated")
    assert resume.start(resume_dir, "key", make_run()) is None
    assert "starting afresh" in caplog.text and "state.pt" in caplog.text


def test_a_state_that_cannot_be_read_fails_the_job_and_keeps_the_folder(tmp_path):
    """A read error (here: state.pt is a folder; on a cluster, a lost NFS handle) says nothing about the state's
    content: the job fails with it, and a rerun resumes, instead of the folder being cleared for a fresh start."""
    resume_dir = tmp_path / "resume"
    (resume_dir / resume.STATE_FILE).mkdir(parents=True)
    (resume_dir / "checkpoints").mkdir()
    (resume_dir / "checkpoints" / "epoch_0001.pt").write_bytes(b"days of training")
    with pytest.raises(IsADirectoryError):
        resume.start(resume_dir, "key", make_run())
    assert (resume_dir / "checkpoints" / "epoch_0001.pt").read_bytes() == b"days of training"


def test_temporary_files_of_a_killed_attempt_are_removed_when_training_starts(tmp_path):
    resume_dir = tmp_path / "resume"
    (resume_dir / "checkpoints").mkdir(parents=True)
    leftovers = [resume_dir / ".state.pt.k2j4.tmp", resume_dir / "checkpoints" / ".epoch_0001.pt.x8.tmp"]
    for leftover in leftovers:
        leftover.write_bytes(b"half a file")
    (resume_dir / "checkpoints" / "keep.tmp").write_bytes(b"not ours")  # not a temporary name of atomic_path
    assert resume.start(resume_dir, "key", make_run()) is None
    assert not any(leftover.exists() for leftover in leftovers)
    files.save_torch(resume_dir / resume.STATE_FILE, {"key": "other", "epoch": 1})
    leftovers[1].write_bytes(b"half a file")
    resume.start(resume_dir, "key", make_run())
    assert not leftovers[1].exists()


def test_the_resume_key_changes_with_settings_and_data(train_path, tmp_path):
    run = make_run()
    key = resume.resume_key(run, train_path)
    assert resume.resume_key(run, train_path) == key
    assert resume.resume_key({**run, "lr_g": 1e-3}, train_path) != key
    assert resume.resume_key({**run, "epochs": 40}, train_path) == key  # a longer run passes through these states
    other = tmp_path / "other.pt"
    files.save_torch(other, {"images": torch.zeros(1), "labels": torch.zeros(1)})
    assert resume.resume_key(run, other) != key


def test_the_key_covers_the_training_loop_and_the_runs_own_architecture_only():
    files = {Path(path).name for path in codedeps.module_closure("training", models.module_of("mlp-gan"))}
    assert {"training.py", "losses.py", "mlp_gan.py"} <= files
    assert not {"cs231n.py", "tf_dcgan.py", "presets.py", "config.py"} & files


@pytest.fixture(scope="module")
def small_train_path(first_train_images):
    return first_train_images(96)  # 12 steps of 8 an epoch: epochs of a fraction of a second


def published(root) -> dict[str, str]:
    """Every file a run hands to the workflow, by path, with its hash (epoch timings aside)."""
    files = {
        f"{folder}/{path.name}": digest(path)
        for folder in ("ckpt", "samples")
        for path in sorted((root / folder).iterdir())
    }
    files["steps.csv"] = digest(root / "steps.csv")
    losses = pd.read_csv(root / "epochs.csv").drop(columns=["seconds", "images_per_s"])
    assert list(losses.columns) == ["epoch", "step", "g_loss", "d_loss", "hardware"]
    files["epochs.csv losses"] = hashlib.sha256(losses.to_csv(index=False).encode()).hexdigest()
    return files


def as_snakemake_reruns(root) -> None:
    """Snakemake deletes a job's outputs before running it again; the resume folder is not one of them."""
    for name in ("ckpt", "samples"):
        shutil.rmtree(root / name)
    for name in ("steps.csv", "epochs.csv", "info.json"):
        (root / name).unlink()


def test_raising_the_epochs_continues_to_the_files_of_a_straight_run(small_train_path, tmp_path, caplog):
    straight = tmp_path / "straight"
    train_in_process(small_train_path, straight, epochs=4, checkpoint_every=3)

    extended = tmp_path / "extended"
    train_in_process(small_train_path, extended, epochs=2, checkpoint_every=3)
    assert sorted(p.name for p in (extended / "ckpt").iterdir()) == ["epoch_0002.pt"]
    as_snakemake_reruns(extended)
    caplog.set_level(logging.INFO)
    caplog.clear()
    info = train_in_process(small_train_path, extended, epochs=4, checkpoint_every=3)
    assert "continuing after epoch 2, where its finished 2-epoch training stopped, to epoch 4" in caplog.text
    assert info["resumed_after_epoch"] == 2
    epochs = pd.read_csv(extended / "epochs.csv")  # the training time of both attempts, as summary.csv counts it
    assert list(epochs["epoch"]) == [1, 2, 3, 4] and info["train_seconds"] == pytest.approx(epochs["seconds"].sum())
    # The 2-epoch run's last checkpoint is no checkpoint of a 4-epoch run: it stays behind in the resume folder.
    assert published(extended) == published(straight)
    assert sorted(p.name for p in (extended / "ckpt").iterdir()) == ["epoch_0003.pt", "epoch_0004.pt"]


def test_a_run_counted_in_steps_goes_on_inside_a_pass_as_a_straight_run_does(small_train_path, tmp_path):
    """Epochs of 5 steps over passes of 12 batches: the 2-epoch run stops 10 batches into the first pass, and the
    longer one asked next must take batches 11 and 12 of that same order before a new pass, as a straight run does."""
    straight = tmp_path / "straight"
    train_in_process(small_train_path, straight, epochs=None, steps=20, steps_per_epoch=5)
    extended = tmp_path / "extended"
    train_in_process(small_train_path, extended, epochs=None, steps=10, steps_per_epoch=5)
    as_snakemake_reruns(extended)
    info = train_in_process(small_train_path, extended, epochs=None, steps=20, steps_per_epoch=5)
    assert (info["run"]["epochs"], info["resumed_after_epoch"]) == (4, 2)
    assert published(extended) == published(straight)
    steps = (straight / "steps.csv").read_text().splitlines()
    assert len(steps) == 1 + 20 and steps[-1].split(",")[:2] == ["4", "20"]  # epoch 4 ends at step 20


def test_lowering_the_epochs_reuses_the_longer_runs_files_or_retrains_and_says_why(small_train_path, tmp_path, caplog):
    straight = tmp_path / "straight"
    train_in_process(small_train_path, straight, epochs=3, checkpoint_every=3)

    longer = tmp_path / "longer"
    train_in_process(small_train_path, longer, epochs=4, checkpoint_every=3)
    as_snakemake_reruns(longer)
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, longer, epochs=3, checkpoint_every=3)
    assert "reusing the first 3 epochs of its 4-epoch training" in caplog.text
    assert "epoch 1/" not in caplog.text  # nothing trained
    assert published(longer) == published(straight)

    as_snakemake_reruns(longer)
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, longer, epochs=2, checkpoint_every=3)  # keeps epoch 2, which nothing saved
    assert (
        "training afresh: the saved state is at epoch 4, past the 2 asked for, "
        f"and {outputs(longer)['resume']} lacks checkpoints/epoch_0002.pt"
    ) in caplog.text
    assert "epoch 2/2" in caplog.text
    assert files.load_torch(outputs(longer)["resume"] / resume.STATE_FILE)["epoch"] == 2


def test_a_finished_run_asked_again_publishes_its_files_without_training(small_train_path, tmp_path, caplog):
    root = tmp_path / "run"
    train_in_process(small_train_path, root, epochs=2)
    before = published(root)
    as_snakemake_reruns(root)
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, root, epochs=2)
    assert "already trained to epoch 2 with these settings, data and code" in caplog.text
    assert "epoch 1/" not in caplog.text
    assert published(root) == before


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_a_damaged_file_in_the_resume_folder_is_retrained_not_published(small_train_path, tmp_path, caplog, damage):
    root = tmp_path / "run"
    train_in_process(small_train_path, root, epochs=2)
    before = published(root)
    as_snakemake_reruns(root)
    damaged = outputs(root)["resume"] / (
        "checkpoints/epoch_0002.pt" if damage == "truncated" else "samples/epoch_0001.npy"
    )
    if damage == "truncated":
        damaged.write_bytes(damaged.read_bytes()[:1000])
    else:
        damaged.unlink()
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, root, epochs=2)
    name = damaged.relative_to(outputs(root)["resume"]).as_posix()
    assert f"training afresh: {name} in {outputs(root)['resume']} is not what the saved state wrote" in caplog.text
    assert "epoch 1/2" in caplog.text
    assert published(root) == before  # retrained, to the same files


def test_a_longer_run_killed_at_the_new_length_writes_its_last_checkpoint_from_the_state(
    small_train_path, tmp_path, caplog
):
    """epochs 5 with checkpoints every 3, killed after epoch 4 (no checkpoint 4), then asked for 4 epochs: the
    state's weights are epoch 4's, so training writes that checkpoint instead of failing or starting over."""
    straight = tmp_path / "straight"
    train_in_process(small_train_path, straight, epochs=4, checkpoint_every=3)

    killed = tmp_path / "killed"
    train_in_process(small_train_path, killed, epochs=4, checkpoint_every=3)
    resume_dir = outputs(killed)["resume"]
    state = files.load_torch(resume_dir / resume.STATE_FILE)
    (resume_dir / "checkpoints" / "epoch_0004.pt").unlink()  # as if epoch 4 of 5 were the last one finished
    del state["files"]["checkpoints/epoch_0004.pt"]
    files.save_torch(resume_dir / resume.STATE_FILE, state | {"epochs": 5})
    as_snakemake_reruns(killed)
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, killed, epochs=4, checkpoint_every=3)
    assert "epoch 1/4" not in caplog.text and "training afresh" not in caplog.text
    assert published(killed) == published(straight)
    state = files.load_torch(resume_dir / resume.STATE_FILE)  # the state vouches for the checkpoint it led to
    assert state["epochs"] == 4 and "checkpoints/epoch_0004.pt" in state["files"]
    caplog.clear()
    as_snakemake_reruns(killed)
    train_in_process(small_train_path, killed, epochs=4, checkpoint_every=3)
    assert "publishing its files without training" in caplog.text and published(killed) == published(straight)


def test_step_losses_are_appended_not_kept_in_the_state(small_train_path, tmp_path):
    """The state stays the same size however many steps a run has taken: its step losses are a table of their own,
    appended to every epoch, that the state only measures."""
    sizes = {}
    for epochs in (1, 6):
        root = tmp_path / f"e{epochs}"
        train_in_process(small_train_path, root, epochs=epochs, checkpoint_every=10)
        state = files.load_torch(outputs(root)["resume"] / resume.STATE_FILE)
        table = outputs(root)["resume"] / resume.STEP_LOSSES
        assert "step_rows" not in state and state["step_losses_bytes"] == table.stat().st_size
        assert table.read_text() == (root / "steps.csv").read_text()
        sizes[epochs] = (outputs(root)["resume"] / resume.STATE_FILE).stat().st_size
    # Five more epochs add five sample hashes and epoch rows (~200 bytes each), not their 60 rows of step losses.
    assert sizes[6] - sizes[1] < 5 * 400


def test_step_losses_of_an_epoch_whose_state_was_never_saved_are_cut_off(small_train_path, tmp_path):
    straight = tmp_path / "straight"
    train_in_process(small_train_path, straight, epochs=3)
    killed = tmp_path / "killed"
    train_in_process(small_train_path, killed, epochs=2)
    as_snakemake_reruns(killed)
    table = outputs(killed)["resume"] / resume.STEP_LOSSES
    with table.open("a") as handle:  # epoch 3 appended its rows, then the job died before saving its state
        handle.write("3,25,0.5,0.5\n3,26,0.5")
    train_in_process(small_train_path, killed, epochs=3)
    assert published(killed) == published(straight)


def test_a_step_loss_table_shorter_than_its_state_trains_afresh(small_train_path, tmp_path, caplog):
    root = tmp_path / "run"
    train_in_process(small_train_path, root, epochs=2)
    before = published(root)
    as_snakemake_reruns(root)
    table = outputs(root)["resume"] / resume.STEP_LOSSES
    table.write_text(table.read_text()[:-30])
    caplog.set_level(logging.INFO)
    caplog.clear()
    train_in_process(small_train_path, root, epochs=2)
    assert f"training afresh: {table} is shorter than the saved state recorded" in caplog.text
    assert "epoch 1/2" in caplog.text and published(root) == before
