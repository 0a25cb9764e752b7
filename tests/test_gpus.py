"""Each concurrent CUDA job on one machine gets its own GPU (checked without one: the environment each job gets)."""

import os
import subprocess
import sys
from pathlib import Path

from genzoo import gpus

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"


def start_job(locks: Path, visible: str = "0,1", hold: float = 30) -> subprocess.Popen:
    """A process that claims a GPU as a training job does, says which, and holds it for `hold` seconds."""
    code = (
        f"import os, sys, time; sys.path.insert(0, {str(WORKFLOW)!r}); from genzoo import gpus; "
        f"taken = gpus.claim_gpu({str(locks)!r}); "
        "print(taken, os.environ['CUDA_VISIBLE_DEVICES'], flush=True); "
        f"time.sleep({hold})"
    )
    env = os.environ | {"CUDA_VISIBLE_DEVICES": visible}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_cuda_jobs_see_different_gpus_and_a_freed_one_is_taken_again(tmp_path):
    jobs = []
    try:
        jobs.append(start_job(tmp_path))
        assert jobs[0].stdout.readline().split() == ["0", "0"]
        jobs.append(start_job(tmp_path))
        assert jobs[1].stdout.readline().split() == ["1", "1"]
        jobs.append(start_job(tmp_path, hold=0))  # a third, while both are held: it shares one, and says so
        taken, visible = jobs[2].stdout.readline().split()
        assert taken == visible and visible in {"0", "1"}
        assert "all 2 GPUs are held by other jobs: sharing GPU" in jobs[2].communicate(timeout=60)[1]
        jobs[0].kill()
        jobs[0].wait(timeout=60)
        jobs.append(start_job(tmp_path, hold=0))
        assert jobs[3].stdout.readline().split() == ["0", "0"]  # the lock died with its job
    finally:
        for job in jobs:
            job.kill()
            job.wait(timeout=60)


def test_nothing_is_claimed_without_a_choice(tmp_path, monkeypatch):
    """One visible GPU (a SLURM job given its own, say) or none: nothing to choose, nothing locked."""
    for visible in ("3", "", "all"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        assert gpus.claim_gpu(tmp_path) is None and os.environ["CUDA_VISIBLE_DEVICES"] == visible
    assert not list(tmp_path.iterdir())
