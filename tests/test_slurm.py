"""The tiny config on a real one-node SLURM cluster started on this machine: every job that is not a
localrule goes through sbatch, and the outputs are those of a local run. Then a run with device: cuda, whose
train job must ask sbatch for a GPU (which this node, having none, refuses at once).

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them). Skipped
without them, unless GENZOO_REQUIRE_SLURM=1, which CI sets so that it cannot pass by skipping."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import REPO
from test_workflow import EPOCHS, TINY, copy_workflow, write_config

pytestmark = pytest.mark.slow

SLURM_CONF = Path("/etc/slurm/slurm.conf")
DAEMONS = ("slurmctld", "slurmd", "sbatch", "squeue", "munged")
# Cheap jobs and the download run where Snakemake runs: the Snakefile's localrules, read from it.
LOCAL_RULES = set(
    re.findall(
        r"\w+",
        re.search(r"^localrules:\n((?:\s+\w+,\n)+)", (REPO / "workflow" / "Snakefile").read_text(), re.M).group(1),
    )
)


def slurm_missing() -> str | None:
    missing = [name for name in DAEMONS if not shutil.which(name) and not Path("/usr/sbin", name).exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmctld and writing /etc/slurm/slurm.conf needs root"
    return None


CUDA_MARK = "=== a run with device: cuda ==="


@pytest.fixture(scope="module")
def on_slurm(repo, tmp_path_factory):
    """A copy of the workflow that has run the tiny config through the SLURM executor, then tried to train one
    run with device: cuda on the same (GPU-less) cluster. Its Snakemake logs, split at CUDA_MARK."""
    if reason := slurm_missing():
        if os.environ.get("GENZOO_REQUIRE_SLURM") == "1":
            pytest.fail(f"GENZOO_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    workdir = copy_workflow(repo, tmp_path_factory.mktemp("slurm"))
    # A run of its own, so that the attempt leaves the tiny config's outputs alone.
    cuda_config = write_config(
        workdir, "cuda.yaml", lambda c: c["runs"].update(gpu={**c["runs"]["gan"], "device": "cuda"})
    )
    config_before = SLURM_CONF.read_bytes() if SLURM_CONF.exists() else None
    snakemake = [
        sys.executable, "-m", "snakemake",
        "--workflow-profile", "profiles/slurm",
        # No slurmdbd here: sacct cannot answer, squeue can.
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs",
    ]  # fmt: skip
    steps = (
        f"{shlex.join(snakemake + ['--configfile', 'config/tiny.yaml'])} || exit 1\n"
        f"echo {shlex.quote(CUDA_MARK)}\n"
        # The target first: --configfile takes every word after it.
        f"{shlex.join(snakemake + ['results/runs/gpu/train_info.json', '--configfile', cuda_config])}\n"
        'echo "cuda run exit status: $?"\n'
    )
    cluster = [str(repo / "tests" / "slurm" / "localhost_cluster.sh"), str(workdir / "cluster")]
    command = ["timeout", "-k", "15", "900", *cluster, "bash", "-c", steps]
    # One stream, so the marker falls between the two runs' messages.
    result = subprocess.run(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = result.stdout
    assert result.returncode == 0 and CUDA_MARK in log, log[-6000:] + _cluster_logs(workdir / "cluster")
    main_log, cuda_log = log.split(CUDA_MARK)
    return SimpleNamespace(workdir=workdir, log=main_log, cuda_log=cuda_log, config_before=config_before)


def _cluster_logs(state: Path) -> str:
    return "".join(f"\n--- {path.name}\n{path.read_text()[-2000:]}" for path in sorted(state.glob("log/*")))


def test_every_cluster_job_went_through_sbatch_and_left_its_slurm_log(on_slurm):
    workdir, log = on_slurm.workdir, on_slurm.log
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    ran = re.findall(r"^(localrule|rule) (\w+):$", log, flags=re.M)
    cluster_rules = [name for kind, name in ran if kind == "rule"]
    # One train and one evaluate job per run, plus the dataset's normalize, classifier and real scores.
    assert sorted(cluster_rules) == sorted(
        ["normalize", "train_classifier", "real_scores"] + ["train", "evaluate"] * len(TINY["runs"])
    )
    # Every local rule ran where Snakemake runs; the tiny config pins no classifier, so pinned_classifier has no job.
    assert {name for kind, name in ran if kind == "localrule"} == LOCAL_RULES - {"pinned_classifier"}
    assert len(submitted) == len(cluster_rules)
    assert len({job_id for job_id, _ in submitted}) == len(submitted)
    for _, slurm_log in submitted:
        assert Path(slurm_log).is_file() and Path(slurm_log).is_relative_to(workdir / ".snakemake" / "slurm_logs")
    train_logs = [Path(path) for _, path in submitted if "/rule_train/" in path]
    assert sorted(path.parent.name for path in train_logs) == sorted(TINY["runs"])


def test_training_on_the_cluster_gives_every_output(on_slurm):
    workdir = on_slurm.workdir
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    assert sorted(summary["run"]) == sorted(TINY["runs"])
    for run, epochs in EPOCHS.items():
        info = json.loads((workdir / f"results/runs/{run}/train_info.json").read_text())
        assert info["run"]["epochs"] == epochs and info["device"] == "cpu"
        assert (workdir / f"results/runs/{run}/samples.gif").stat().st_size > 0
        metrics = pd.read_csv(workdir / f"results/runs/{run}/metrics.csv")
        assert metrics["epoch"].max() == epochs


def test_the_cluster_is_stopped_and_the_machines_slurm_config_put_back(on_slurm):
    before = on_slurm.config_before
    assert (SLURM_CONF.read_bytes() if SLURM_CONF.exists() else None) == before
    leftover = subprocess.run(["pgrep", "-x", "slurmctld|slurmd"], capture_output=True, text=True)
    assert leftover.stdout == ""


def test_a_cuda_run_asks_sbatch_for_a_gpu_with_its_rules_memory_and_runtime(on_slurm):
    """The node has no GPU, so sbatch refuses the job at once: a clear error, no job left queued or hanging."""
    sbatch_calls = re.findall(r"^\s+(sbatch --parsable .*)$", on_slurm.cuda_log, flags=re.M)
    assert sbatch_calls and all("--comment rule_train_wildcards_gpu" in call for call in sbatch_calls)
    for flag in ("--gpus=1", "--mem 4000", "-t 720", "--cpus-per-task=1"):  # the train rule's own resources
        assert flag in sbatch_calls[0]
    assert "Invalid generic resource (gres) specification" in on_slurm.cuda_log
    assert re.search(r"cuda run exit status: [1-9]", on_slurm.cuda_log)
