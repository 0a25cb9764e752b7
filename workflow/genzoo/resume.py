"""Resumable and extendable training: a run's full state after every epoch, kept where Snakemake does not
delete it.

Snakemake removes a job's declared outputs before it runs again, so a run trains inside its own resume
folder and hard-links its checkpoints and samples into the declared outputs at the end. The folder stays
after the run finishes. A killed run resumes after its last finished epoch; a finished run whose epochs
are raised continues after its last one, bit for bit the run a straight training of the new length
makes; one whose epochs are lowered reuses the longer run's files when they hold every checkpoint the
shorter run keeps. A state is used only when it was made with the same settings (epochs aside), data and
training code. On disk it costs state.pt (weights, optimizer moments, RNG states, the epochs' losses), the step
losses (losses_steps.csv, appended to every epoch: rewriting a million rows into the state each epoch cost the
TF1 GAN's 2,327 short epochs 46 of their 154 minutes) and any checkpoint the current outputs no longer link; the
rest are the outputs' own files.
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import torch

from . import codedeps, files, models
from .schedule import checkpoint_file, training_files

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
STEP_LOSSES = "losses_steps.csv"  # every step's losses so far; the state records how many bytes of it are its own
LOG_FILE = "train.log"  # every attempt's log lines, since Snakemake deletes a job's log before rerunning it


class TrainerBusy(RuntimeError):
    """Another live process is training the run."""


@contextlib.contextmanager
def exclusive(resume_dir: Path, run: str) -> Iterator[None]:
    """One trainer per run: an exclusive lock on <resume_dir>.lock, held while this process trains. The kernel drops
    it when the holder dies, so a lock left by a killed trainer never blocks; a live one is named by its PID."""
    lock_path = resume_dir.with_name(resume_dir.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()  # host:pid, so that on a shared file system it names the right machine
            host, _, pid = holder.rpartition(":")
            stop = f"stop it (kill {pid} on {host})" if holder else "stop it"
            raise TrainerBusy(
                f"run {run}: another trainer (PID {pid or 'unknown'} on {host or 'an unknown host'}) is training it "
                f"in {resume_dir}; let it finish, or {stop} and run snakemake again (it resumes from the last "
                "finished epoch)"
            ) from None
        except OSError as error:  # a file system without locks (NFS mounted nolock, Lustre without flock)
            if error.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            log.warning("run %s: %s cannot be locked (%s): nothing stops a second trainer", run, lock_path, error)
            yield
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{socket.gethostname()}:{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def resume_key(run: dict, train_path: str | Path) -> str:
    """What a state must match to be used: the run's settings but its epochs (a longer run passes through the
    same states), its training data, and the code of the training loop and of the run's own architecture."""
    settings = {key: value for key, value in run.items() if key != "epochs"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    digest.update(files.file_hash(train_path).encode())
    for path in codedeps.module_closure("training", models.module_of(run["architecture"])):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def start(resume_dir: Path, key: str, run: dict) -> dict | None:
    """The saved state to go on from, if one matches key and can serve run's epochs; otherwise None, after
    clearing the folder for a fresh start. The log says which, and why."""
    state = load_state(resume_dir / STATE_FILE, key)
    if state is not None and (damaged := damaged_files(resume_dir, state["files"])):
        log.warning(
            "run %s: training afresh: %s in %s %s not what the saved state wrote",
            run["name"],
            first_few(damaged),
            resume_dir,
            "is" if len(damaged) == 1 else "are",
        )
        state = None
    if state is not None and step_losses_size(resume_dir) < state["step_losses_bytes"]:
        log.warning(
            "run %s: training afresh: %s is shorter than the saved state recorded",
            run["name"],
            resume_dir / STEP_LOSSES,
        )
        state = None
    if state is not None and state["epoch"] == run["epochs"]:
        # A longer run killed right here: its weights are this run's, and training writes the last checkpoint.
        last = f"checkpoints/{checkpoint_file(run['epochs'])}"
        missing = [name for name in missing_files(resume_dir, run) if name != last]
        if missing:
            log.info(
                "run %s: training afresh: the saved state is at epoch %d, but %s lacks %s",
                run["name"],
                state["epoch"],
                resume_dir,
                first_few(missing),
            )
            state = None
    if state is not None and state["epoch"] > run["epochs"]:
        missing = missing_files(resume_dir, run)
        if missing:
            log.info(
                "run %s: training afresh: the saved state is at epoch %d, past the %d asked for, and %s lacks %s",
                run["name"],
                state["epoch"],
                run["epochs"],
                resume_dir,
                first_few(missing),
            )
            state = None
    if state is None and resume_dir.exists():
        shutil.rmtree(resume_dir)
    remove_temporary_files(resume_dir)
    for folder in training_files(run):
        (resume_dir / folder).mkdir(parents=True, exist_ok=True)
    if state is not None:
        earlier = resume_dir / LOG_FILE
        if earlier.exists():
            log.info(
                "run %s: the earlier attempts' log:\n%s---- end of the earlier log ----",
                run["name"],
                earlier.read_text(),
            )
        log.info("run %s: %s", run["name"], going_on(state, run, resume_dir))
    return state


def remove_temporary_files(resume_dir: Path) -> None:
    """The temporary files of writes a killed attempt never finished (files.atomic_path names them .<name>.*.tmp):
    start runs under the trainer's lock, so no live writer owns one."""
    if resume_dir.exists():
        for leftover in resume_dir.rglob(".*.tmp"):
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def recorded_log(resume_dir: Path) -> Iterator[None]:
    """Appends this process's log lines to the resume folder's log too, so a later attempt can show them."""
    handler = logging.FileHandler(resume_dir / LOG_FILE, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def first_few(names: list[str]) -> str:
    """Names for a log line: the first three, and how many more."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def going_on(state: dict, run: dict, resume_dir: Path) -> str:
    """What training does with a matching state, in words."""
    saved, wanted, finished_at = state["epoch"], run["epochs"], state.get("epochs")
    if saved < wanted and saved == finished_at:
        return f"continuing after epoch {saved}, where its finished {saved}-epoch training stopped, to epoch {wanted}"
    if saved < wanted:
        return f"resuming after epoch {saved} of {wanted} (step {state['step']})"
    if saved == wanted:
        return (
            f"already trained to epoch {saved} with these settings, data and code: publishing its files without "
            f"training (delete {resume_dir} to train afresh)"
        )
    return f"reusing the first {wanted} epochs of its {saved}-epoch training (every file they need is there)"


def damaged_files(resume_dir: Path, hashes: dict[str, str]) -> list[str]:
    """The files (folder/name) a state recorded that are now missing or have other content."""
    return [
        name
        for name, digest in hashes.items()
        if not (resume_dir / name).is_file() or files.file_hash(resume_dir / name) != digest
    ]


def missing_files(resume_dir: Path, run: dict) -> list[str]:
    return [
        f"{folder}/{name}"
        for folder, names in training_files(run).items()
        for name in names
        if not (resume_dir / folder / name).is_file()
    ]


def load_state(path: Path, key: str) -> dict | None:
    if not path.exists():
        return None
    try:
        state = files.load_torch(path)
    except files.CheckpointError as error:
        log.warning("starting afresh: %s", error)
        return None
    if not isinstance(state, dict) or state.get("key") != key:
        log.info("starting afresh: %s was made with other settings, data or code", path)
        return None
    return state


def save_state(
    resume_dir: Path,
    key: str,
    epochs: int,
    epoch: int,
    step: int,
    nets,
    optimizers,
    cursor,
    fixed_noise,
    epoch_rows,
    file_hashes,
):
    """Everything the next epoch depends on, RNG states included (as tensors, for weights-only loading), the epochs
    the run was asked for (they tell a finished run from a killed one), the SHA-256 of every checkpoint and
    sample written so far (folder/name -> hash), so a damaged one is never published, and the length of the step
    losses' table, to which this epoch's rows were appended (append_step_losses)."""
    state = {
        "key": key,
        "files": file_hashes,
        "epochs": epochs,
        "epoch": epoch,
        "step": step,
        "nets": {role: net.state_dict() for role, net in nets.items()},
        "optimizers": {name: optimizer.state_dict() for name, optimizer in optimizers.items()},
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "data_cursor": cursor.state_dict(),
        "fixed_noise": fixed_noise.cpu(),
        "step_losses_bytes": step_losses_size(resume_dir),
        "epoch_rows": epoch_rows,
    }
    files.save_torch(resume_dir / STATE_FILE, state)


def step_losses_size(resume_dir: Path) -> int:
    path = resume_dir / STEP_LOSSES
    return path.stat().st_size if path.is_file() else 0


def append_step_losses(resume_dir: Path, rows: list[dict]) -> None:
    """Appends an epoch's step losses to the resume folder's table (its header first). The state saved after it
    records the table's length; what lies beyond a state's length (an epoch killed before its state was saved) is
    cut off when the run resumes (restore)."""
    import pandas as pd

    with open(resume_dir / STEP_LOSSES, "a", newline="") as handle:
        pd.DataFrame(rows).to_csv(handle, header=handle.tell() == 0, index=False)


def step_losses(resume_dir: Path, epochs: int):
    """The step losses of the first `epochs` epochs, as a DataFrame (floats read back exactly)."""
    import pandas as pd

    table = pd.read_csv(resume_dir / STEP_LOSSES)  # pandas 3 reads floats back exactly
    return table[table["epoch"] <= epochs].reset_index(drop=True)


def restore(state: dict, nets, optimizers, cursor, resume_dir: Path) -> torch.Tensor:
    """Puts the saved state back in place, the step losses' table cut back to the state's length; returns the run's
    fixed noise (on the CPU)."""
    os.truncate(resume_dir / STEP_LOSSES, state["step_losses_bytes"])
    for role, net in nets.items():
        net.load_state_dict(state["nets"][role])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"]:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    cursor.load_state_dict(state["data_cursor"])
    return state["fixed_noise"]


def publish(resume_dir: Path, outputs: dict[str, Path], run: dict) -> None:
    """Links the files a run of run['epochs'] epochs leaves into its output folders (by folder name: checkpoints,
    samples); the resume folder keeps its own links, so the next rerun still finds them."""
    for folder, names in training_files(run).items():
        target = Path(outputs[folder])
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            source, destination = resume_dir / folder / name, target / name
            destination.unlink(missing_ok=True)
            try:
                os.link(source, destination)
            except OSError:  # a file system without hard links
                shutil.copy2(source, destination)
