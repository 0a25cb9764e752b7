"""Shared start of every script: the package on sys.path, stderr and logging into the rule's log."""

import logging
import signal
import sys
from pathlib import Path


def interrupt(signum, frame):
    """A job cancelled with SIGTERM (scancel, a cluster's time limit, Snakemake stopping) unwinds as Ctrl-C does, so
    its unfinished writes remove their temporary files."""
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def setup(snakemake) -> None:
    signal.signal(signal.SIGTERM, interrupt)
    sys.path.insert(0, str(Path(snakemake.scriptdir).parent))
    if snakemake.log:
        sys.stderr = open(snakemake.log[0], "w", buffering=1)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
