"""The tiny config on a real one-node SLURM cluster started on this machine: every job that is not a
localrule goes through sbatch, and the outputs are those of a local run.

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them). Skipped
without them, unless GENZOO_REQUIRE_SLURM=1, which CI sets so that it cannot pass by skipping."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import EPOCHS, TINY, copy_workflow

SLURM_CONF = Path("/etc/slurm/slurm.conf")
DAEMONS = ("slurmctld", "slurmd", "sbatch", "squeue", "munged")
# Cheap jobs and the download run where Snakemake runs (the Snakefile's localrules).
LOCAL_RULES = {
    "all",
    "download",
    "render_frame",
    "render_manifold",
    "manifold_gif",
    "gif",
    "plot_losses",
    "summary",
    "run_page",
    "leaderboard_page",
}


def slurm_missing() -> str | None:
    missing = [name for name in DAEMONS if not shutil.which(name) and not Path("/usr/sbin", name).exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmctld and writing /etc/slurm/slurm.conf needs root"
    return None


@pytest.fixture(scope="module")
def on_slurm(repo, tmp_path_factory):
    """A copy of the workflow that has run the tiny config through the SLURM executor; its Snakemake log."""
    if reason := slurm_missing():
        if os.environ.get("GENZOO_REQUIRE_SLURM") == "1":
            pytest.fail(f"GENZOO_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    workdir = copy_workflow(repo, tmp_path_factory.mktemp("slurm"))
    config_before = SLURM_CONF.read_bytes() if SLURM_CONF.exists() else None
    command = [
        "timeout", "-k", "15", "900",
        str(repo / "tests" / "slurm" / "localhost_cluster.sh"), str(workdir / "cluster"),
        sys.executable, "-m", "snakemake",
        "--workflow-profile", "profiles/slurm",
        "--configfile", "config/tiny.yaml",
        # No slurmdbd here: sacct cannot answer, squeue can.
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2",
        "--slurm-keep-successful-logs",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:] + _cluster_logs(workdir / "cluster")
    return workdir, log, config_before


def _cluster_logs(state: Path) -> str:
    return "".join(f"\n--- {path.name}\n{path.read_text()[-2000:]}" for path in sorted(state.glob("log/*")))


def test_every_cluster_job_went_through_sbatch_and_left_its_slurm_log(on_slurm):
    workdir, log, _ = on_slurm
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    ran = re.findall(r"^(localrule|rule) (\w+):$", log, flags=re.M)
    cluster_rules = [name for kind, name in ran if kind == "rule"]
    # One train and one evaluate job per run, plus the dataset's normalize, classifier and real scores.
    assert sorted(cluster_rules) == sorted(
        ["normalize", "train_classifier", "real_scores"] + ["train", "evaluate"] * len(TINY["runs"])
    )
    assert {name for kind, name in ran if kind == "localrule"} == LOCAL_RULES
    assert len(submitted) == len(cluster_rules)
    assert len({job_id for job_id, _ in submitted}) == len(submitted)
    for _, slurm_log in submitted:
        assert Path(slurm_log).is_file() and Path(slurm_log).is_relative_to(workdir / ".snakemake" / "slurm_logs")
    train_logs = [Path(path) for _, path in submitted if "/rule_train/" in path]
    assert sorted(path.parent.name for path in train_logs) == sorted(TINY["runs"])


def test_training_on_the_cluster_gives_every_output(on_slurm):
    workdir, _, _ = on_slurm
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    assert sorted(summary["run"]) == sorted(TINY["runs"])
    for run, epochs in EPOCHS.items():
        info = json.loads((workdir / f"results/runs/{run}/train_info.json").read_text())
        assert info["run"]["epochs"] == epochs and info["device"] == "cpu"
        assert (workdir / f"results/runs/{run}/samples.gif").stat().st_size > 0
        metrics = pd.read_csv(workdir / f"results/runs/{run}/metrics.csv")
        assert metrics["epoch"].max() == epochs


def test_the_cluster_is_stopped_and_the_machines_slurm_config_put_back(on_slurm):
    _, _, config_before = on_slurm
    assert (SLURM_CONF.read_bytes() if SLURM_CONF.exists() else None) == config_before
    leftover = subprocess.run(["pgrep", "-x", "slurmctld|slurmd"], capture_output=True, text=True)
    assert leftover.stdout == ""
