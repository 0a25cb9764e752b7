"""One GPU per concurrent CUDA job on one machine. Snakemake's `gpu` resource only counts: without this, every
job that asks for a GPU would land on GPU 0. A training job that reserved one claims the first GPU no other job
holds, by a lock file it keeps until it ends, and sees only that GPU (CUDA_VISIBLE_DEVICES, set before torch is
imported). Under SLURM each job has its own GPUs already, and nothing is claimed.

Pure standard library on purpose: it runs before torch is imported, which fixes the visible GPUs for good.
"""

import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)
_HELD = []  # open lock files: closing one would free its GPU for the next job


def visible_gpus() -> list[str]:
    """The GPUs this process may use: those CUDA_VISIBLE_DEVICES lists, or every one nvidia-smi finds."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
    return [str(index) for index, line in enumerate(line for line in found.splitlines() if line.startswith("GPU "))]


def claim_gpu(lock_dir: str | Path) -> str | None:
    """Takes a GPU for this process (see the module's docstring); the one taken, or None when there was no choice
    to make (SLURM, one GPU or none). When every GPU is held, the job shares one and says so."""
    gpus = visible_gpus()
    if os.environ.get("SLURM_JOB_ID") or len(gpus) < 2:
        return None
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    for gpu in gpus:
        handle = open(lock_dir / f"gpu{gpu}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _HELD.append(handle)
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
        log.info("GPU %s (of %s) is this job's until it ends", gpu, ",".join(gpus))
        return gpu
    gpu = gpus[os.getpid() % len(gpus)]
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    log.warning(
        "all %d GPUs are held by other jobs: sharing GPU %s (run fewer GPU jobs at once with --resources gpu=%d)",
        len(gpus),
        gpu,
        len(gpus),
    )
    return gpu
