"""One GPU per concurrent CUDA job on one machine. Snakemake's `gpu` resource only counts: without this, every
job that may use a GPU would land on GPU 0. A training job claims the first GPU no other job holds, by a lock file
it keeps until it ends (in the machine's temporary folder, so workflows in other folders see it too), and sees
only that GPU (CUDA_VISIBLE_DEVICES, set before torch is imported). A job that sees one GPU or none (a SLURM job
given its own GPU, a CPU machine) has nothing to choose.

Pure standard library on purpose: it runs before torch is imported, which fixes the visible GPUs for good.
"""

import errno
import fcntl
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
    """Takes a GPU for this process (see the module's docstring); the one taken, or None when there was no choice
    to make. When every GPU is held, the job shares one and says so."""
    gpus = visible_gpus()
    if len(gpus) < 2:
        return None
    lock_dir = Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    for gpu in gpus:
        handle = open(lock_dir / f"gpu-{gpu}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        except OSError as error:  # a file system without locks: nothing to coordinate with
            handle.close()
            if error.errno not in (errno.ENOLCK, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            log.warning("%s cannot be locked (%s): leaving the choice of GPU to CUDA", lock_dir, error.strerror)
            return None
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
