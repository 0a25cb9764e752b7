"""Which GPU a CUDA job on one machine uses. Snakemake's `gpu` resource only counts (the default profile lets that
many CUDA jobs run at once); without this, every job that may use a GPU would land on GPU 0. A training job joins the
GPU that the fewest other jobs hold, by a lock file it keeps until it ends (one per job on a GPU, in the machine's
temporary folder, so workflows in other folders see them too), and sees only that GPU (CUDA_VISIBLE_DEVICES, set
before torch is imported). A job that sees one GPU or none (a SLURM job given its own, a CPU machine) has nothing to
choose.

Pure standard library on purpose: it runs before torch is imported, which fixes the visible GPUs for good.
"""

import errno
import fcntl
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
LOCK_DIR = Path(tempfile.gettempdir()) / f"genzoo-gpu-locks-{os.getuid()}"
_HELD = []  # open lock files: closing one would free its GPU for the next job


def visible_gpus() -> list[str]:
    """The GPUs this process may use: those CUDA_VISIBLE_DEVICES lists (indices or UUIDs), or every one nvidia-smi
    finds, numbered in PCI bus order (which claim_gpu then asks CUDA to follow, so the numbers agree)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() not in ("", "all", "-1")]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("nvidia-smi -L failed (%s): leaving the choice of GPU to CUDA", error)
        return []
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    return [str(index) for index, line in enumerate(line for line in found.splitlines() if line.startswith("GPU "))]


def claim_gpu(lock_dir: str | Path = LOCK_DIR) -> str | None:
    """Takes a place on a GPU for this process (see the module's docstring): the GPU that the fewest jobs hold, the
    first listed among equals. Returns it, or None when there was no choice to make."""
    gpus = visible_gpus()
    if len(gpus) < 2:
        return None
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(lock_dir / "choosing.lock", "a") as choosing:
            # One job chooses at a time: jobs started together would otherwise all count the same loads and pick
            # the same GPU. Held for the count and the taking only (milliseconds), released when the file closes.
            fcntl.flock(choosing, fcntl.LOCK_EX)
            loads = {gpu: jobs_holding(lock_dir, gpu) for gpu in gpus}
            gpu = min(gpus, key=loads.get)
            _HELD.append(free_place(lock_dir, gpu))
    except OSError as error:  # a file system without locks: nothing to coordinate with
        if error.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
        log.warning("%s cannot be locked (%s): leaving the choice of GPU to CUDA", lock_dir, error.strerror)
        return None
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    others = f", beside {loads[gpu]} other job(s)" if loads[gpu] else ""
    log.info("GPU %s (of %s) is this job's until it ends%s", gpu, ",".join(gpus), others)
    return gpu


def claim_gpu_unless_cpu(device: str) -> str | None:
    """claim_gpu for a job whose device is auto or cuda; nothing for one told to run on the CPU. Call it before torch
    is imported: that fixes the GPUs a process sees."""
    return None if device == "cpu" else claim_gpu()


def place_files(lock_dir: Path, gpu: str) -> list[Path]:
    return sorted(lock_dir.glob(f"gpu-{gpu}-job*.lock"))


def locked(handle) -> bool:
    """Takes the lock of an open place file if no other process holds it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def jobs_holding(lock_dir: Path, gpu: str) -> int:
    """How many running jobs hold a place on the GPU (each place file another process keeps locked)."""
    held = 0
    for path in place_files(lock_dir, gpu):
        with open(path, "a") as handle:  # closing drops a lock taken just to look
            held += not locked(handle)
    return held


def free_place(lock_dir: Path, gpu: str):
    """The open, locked file of a place on the GPU that no job holds: the first free one, or a new one."""
    for index in itertools.count():
        handle = open(lock_dir / f"gpu-{gpu}-job{index}.lock", "a")
        try:
            if locked(handle):
                return handle
        except OSError:
            handle.close()
            raise
        handle.close()
