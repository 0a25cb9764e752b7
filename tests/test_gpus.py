"""Each concurrent CUDA job on one machine gets its own GPU (checked without one: the environment each job gets)."""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from genzoo import gpus

WORKFLOW = Path(__file__).resolve().parents[1] / "workflow"


def start_job(locks: Path, visible: str = "0,1", hold: float = 30) -> subprocess.Popen:
    """A process that claims a GPU as a training job does, says which, and holds it for `hold` seconds."""
    code = (
        f"import logging, os, sys, time; sys.path.insert(0, {str(WORKFLOW)!r}); from genzoo import gpus; "
        "logging.basicConfig(level=logging.INFO); "
        f"taken = gpus.claim_gpu({str(locks)!r}); "
        "print(taken, os.environ['CUDA_VISIBLE_DEVICES'], flush=True); "
        f"time.sleep({hold})"
    )
    env = os.environ | {"CUDA_VISIBLE_DEVICES": visible}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_concurrent_cuda_jobs_join_the_gpu_the_fewest_jobs_hold(tmp_path):
    jobs = []

    def start(hold: float = 30) -> str:
        jobs.append(start_job(tmp_path, hold=hold))
        taken, visible = jobs[-1].stdout.readline().split()
        assert taken == visible
        return taken

    def stop(index: int) -> None:
        jobs[index].kill()
        jobs[index].wait(timeout=60)

    try:
        assert [start(), start(), start()] == ["0", "1", "0"]  # one each, then a second on the first
        assert "beside 1 other job(s)" in open_log(jobs[2])
        stop(0)  # its place on GPU 0 died with it: one job left on each GPU
        assert start() == "0"
        stop(1)
        assert start() == "1"  # GPU 1 is now the one with fewer jobs
        places = sorted(path.name for path in tmp_path.iterdir())  # a dead job's place is taken again
        assert places == ["choosing.lock", "gpu-0-job0.lock", "gpu-0-job1.lock", "gpu-1-job0.lock"]
    finally:
        for index in range(len(jobs)):
            stop(index)


def test_jobs_that_choose_at_the_same_moment_spread_over_the_gpus(tmp_path, monkeypatch):
    """Snakemake starts jobs in bursts. Eight claims at once (threads here, each with its own lock files, as
    processes have), with the count of each GPU's jobs slowed down so that they overlap: four on each GPU."""
    counted = gpus.jobs_holding

    def slow_count(lock_dir, gpu):
        time.sleep(0.05)
        return counted(lock_dir, gpu)

    monkeypatch.setattr(gpus, "visible_gpus", lambda: ["0", "1"])
    monkeypatch.setattr(gpus, "jobs_holding", slow_count)
    monkeypatch.setattr(gpus, "_HELD", [])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    start = threading.Barrier(8)

    def claim():
        start.wait()
        return gpus.claim_gpu(tmp_path)

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            taken = list(pool.map(lambda _: claim(), range(8)))
        assert sorted(taken) == ["0"] * 4 + ["1"] * 4
    finally:
        for handle in gpus._HELD:
            handle.close()


def open_log(job: subprocess.Popen) -> str:
    """What a job logged by now (it logs its choice before saying it on stdout)."""
    os.set_blocking(job.stderr.fileno(), False)
    return job.stderr.read() or ""


def test_nothing_is_claimed_without_a_choice(tmp_path, monkeypatch):
    """One visible GPU (a SLURM job given its own, say) or none: nothing to choose, nothing locked."""
    for visible in ("3", "", "all"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        assert gpus.claim_gpu(tmp_path) is None and os.environ["CUDA_VISIBLE_DEVICES"] == visible
    assert not list(tmp_path.iterdir())
