"""Resumable training: a run's full state after every epoch, kept where Snakemake does not delete it.

Snakemake removes a job's declared outputs before it runs again, so a run trains inside its own
resume folder and hard-links the finished checkpoints and samples into the declared outputs at
the end. A state is only resumed when it was made by the same settings, data and training code.
"""

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import torch

from . import codedeps, io

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
OUTPUT_FOLDERS = ("checkpoints", "samples")


def resume_key(run: dict, train_path: str | Path) -> str:
    """What a state must match to be resumed: the run's settings, its training data and the training code."""
    digest = hashlib.sha256(json.dumps(run, sort_keys=True).encode())
    digest.update(io.file_hash(train_path).encode())
    for path in codedeps.module_closure("training"):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def start(resume_dir: Path, key: str) -> dict | None:
    """The saved state if it matches key; otherwise None, after clearing the folder for a fresh start."""
    state = load_state(resume_dir / STATE_FILE, key)
    if state is None and resume_dir.exists():
        shutil.rmtree(resume_dir)
    for folder in OUTPUT_FOLDERS:
        (resume_dir / folder).mkdir(parents=True, exist_ok=True)
    return state


def load_state(path: Path, key: str) -> dict | None:
    if not path.exists():
        return None
    try:
        state = io.load_torch(path)
    except io.CheckpointError as error:
        log.warning("starting afresh: %s", error)
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        log.info("starting afresh: %s was made with other settings, data or code", path)
        return None
    return state


def save_state(
    resume_dir: Path, key: str, epoch: int, step: int, nets, optimizers, order_rng, fixed_noise, step_rows, epoch_rows
):
    """Everything the next epoch depends on, RNG states included (as tensors, for weights-only loading)."""
    state = {
        "key": key,
        "epoch": epoch,
        "step": step,
        "nets": {role: net.state_dict() for role, net in nets.items()},
        "optimizers": {name: optimizer.state_dict() for name, optimizer in optimizers.items()},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "order_rng": order_rng.get_state(),
        "fixed_noise": fixed_noise.cpu(),
        "step_rows": step_rows,
        "epoch_rows": epoch_rows,
    }
    io.save_torch(resume_dir / STATE_FILE, state)


def restore(state: dict, nets, optimizers, order_rng) -> torch.Tensor:
    """Puts the saved state back in place; returns the run's fixed noise (on the CPU)."""
    for role, net in nets.items():
        net.load_state_dict(state["nets"][role])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"]:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    order_rng.set_state(state["order_rng"])
    return state["fixed_noise"]


def publish(resume_dir: Path, checkpoints_dir: Path, samples_dir: Path) -> None:
    """Links the finished run's files into the declared outputs; the resume folder stays complete until finish()."""
    for folder, target in zip(OUTPUT_FOLDERS, (checkpoints_dir, samples_dir), strict=True):
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((resume_dir / folder).iterdir()):
            destination = target / source.name
            destination.unlink(missing_ok=True)
            try:
                os.link(source, destination)
            except OSError:  # a file system without hard links
                shutil.copy2(source, destination)


def finish(resume_dir: Path) -> None:
    shutil.rmtree(resume_dir, ignore_errors=True)
