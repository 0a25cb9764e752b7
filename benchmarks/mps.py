"""NVIDIA's Multi-Process Service for one measurement: a control daemon of our own, so that the CUDA processes
started inside `with mps_server():` share the GPU's cores at once instead of taking turns on it.

The daemon's pipe and log folders live in a folder of its own and reach the child processes through the environment
(CUDA_MPS_PIPE_DIRECTORY, CUDA_MPS_LOG_DIRECTORY), so processes outside the measurement, and any MPS daemon the
machine already runs, are left alone. The GPU's settings (compute mode and the like) are not touched.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CONTROL = "nvidia-cuda-mps-control"
START_S = 10.0


def mps_environment(folder: Path) -> dict[str, str]:
    return {"CUDA_MPS_PIPE_DIRECTORY": str(folder / "pipe"), "CUDA_MPS_LOG_DIRECTORY": str(folder / "log")}


@contextlib.contextmanager
def mps_server(folder: Path | None = None):
    """Starts a control daemon for the block and quits it after; the block's child processes join it. Its folders
    go in folder, or in a temporary folder of its own, removed after."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="genzoo-mps-") as own:
            with mps_server(Path(own)) as env:
                yield env
        return
    control = shutil.which(CONTROL)
    if control is None:
        raise SystemExit(f"--mps: {CONTROL} not found on PATH (it comes with the NVIDIA driver)")
    env = mps_environment(folder)
    for path in env.values():
        Path(path).mkdir(parents=True, exist_ok=True)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        subprocess.run([control, "-d"], stdin=subprocess.DEVNULL, check=True)
        deadline = time.monotonic() + START_S
        while not any((folder / "pipe").iterdir()):  # the daemon's pipes and sockets
            if time.monotonic() > deadline:
                raise SystemExit(f"--mps: {CONTROL} -d started no daemon in {START_S:.0f} s (see {folder / 'log'})")
            time.sleep(0.1)
        yield env
    finally:
        subprocess.run([control], input="quit\n", text=True, check=False)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
