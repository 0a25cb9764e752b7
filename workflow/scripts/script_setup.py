"""Shared start of every script: the package on sys.path, stderr and logging into the rule's log."""

import logging
import sys
from pathlib import Path


def setup(snakemake) -> None:
    sys.path.insert(0, str(Path(snakemake.scriptdir).parent))
    if snakemake.log:
        sys.stderr = open(snakemake.log[0], "w", buffering=1)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
