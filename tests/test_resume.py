"""A training job killed mid-epoch resumes from its last completed epoch and ends bit-identical."""

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from genzoo import config, io, resume, training

TESTS = Path(__file__).resolve().parent
WORKFLOW = TESTS.parent / "workflow"
RUN_SETTINGS = {"preset": "pytorch-gan", "epochs": 4, "batch_size": 8, "seed": 3}


def make_run() -> dict:
    cfg = {"datasets": {"d": {"source": "mnist-5k"}}, "runs": {"r": {"dataset": "d", **RUN_SETTINGS}}}
    return config.resolve_run(cfg, "r")


def outputs(root):
    return {
        "checkpoints": root / "ckpt",
        "samples": root / "samples",
        "steps": root / "steps.csv",
        "epochs": root / "epochs.csv",
        "info": root / "info.json",
        "resume": root / "resume",
    }


def train_in_process(train_path, root) -> dict:
    paths = outputs(root)
    return training.train(
        make_run(),
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
        "import sys, pathlib\n"
        f"sys.path[:0] = [{str(WORKFLOW)!r}, {str(TESTS)!r}]\n"
        "import test_resume\n"
        f"test_resume.train_in_process({str(train_path)!r}, pathlib.Path({str(root)!r}))\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_epoch_then_rerun_gives_the_uninterrupted_weights(train_path, tmp_path):
    uninterrupted = tmp_path / "uninterrupted"
    train_in_process(train_path, uninterrupted)

    killed = tmp_path / "killed"
    state_file = outputs(killed)["resume"] / resume.STATE_FILE
    child = start_child(train_path, killed)
    deadline = time.time() + 120
    while not state_file.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read()[-2000:]
    assert state_file.exists() and not outputs(killed)["info"].exists()
    completed_before_kill = io.load_torch(state_file)["epoch"]
    assert 1 <= completed_before_kill < RUN_SETTINGS["epochs"]

    info = train_in_process(train_path, killed)
    assert info["resumed_after_epoch"] >= completed_before_kill
    for name in ("epoch_0001.pt", "epoch_0004.pt"):
        assert digest(killed / "ckpt" / name) == digest(uninterrupted / "ckpt" / name), name
    for name in ("samples/epoch_0004.npy", "steps.csv"):
        assert digest(killed / name) == digest(uninterrupted / name), name
    assert not outputs(killed)["resume"].exists()  # a finished run leaves no resume state behind


def test_a_state_made_with_other_settings_is_not_resumed(tmp_path):
    resume_dir = tmp_path / "resume"
    (resume_dir / "checkpoints").mkdir(parents=True)
    (resume_dir / "checkpoints" / "epoch_0001.pt").write_bytes(b"stale")
    io.save_torch(resume_dir / resume.STATE_FILE, {"key": "other settings", "epoch": 3})
    assert resume.start(resume_dir, "these settings") is None
    assert sorted(p.name for p in resume_dir.iterdir()) == ["checkpoints", "samples"]
    assert list((resume_dir / "checkpoints").iterdir()) == []


def test_a_corrupt_state_starts_afresh_instead_of_failing(tmp_path, caplog):
    resume_dir = tmp_path / "resume"
    resume_dir.mkdir()
    (resume_dir / resume.STATE_FILE).write_bytes(b"PK\x03\x04 truncated")
    assert resume.start(resume_dir, "key") is None
    assert "starting afresh" in caplog.text and "state.pt" in caplog.text


def test_the_resume_key_changes_with_settings_and_data(train_path, tmp_path):
    run = make_run()
    key = resume.resume_key(run, train_path)
    assert resume.resume_key(run, train_path) == key
    assert resume.resume_key({**run, "lr_g": 1e-3}, train_path) != key
    other = tmp_path / "other.pt"
    io.save_torch(other, {"images": torch.zeros(1), "labels": torch.zeros(1)})
    assert resume.resume_key(run, other) != key
