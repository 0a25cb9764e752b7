"""Fingerprints of the code files a rule's script runs, as rule params (see package_code in
workflow/rules/common.smk). Only planning imports this module: training code does not, so editing it changes no
run's resume key."""

import functools
import hashlib
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
WORKFLOW_DIR = PACKAGE_DIR.parent


@functools.cache
def fingerprint(path: str) -> str:
    """'<file from the workflow folder on>=<start of its SHA-256>', e.g. 'genzoo/training.py=3fa2c1d0e4b5' or
    'scripts/script_setup.py=...': the same wherever the workflow is checked out or deployed."""
    file = Path(path).resolve()
    name = file.relative_to(WORKFLOW_DIR).as_posix() if file.is_relative_to(WORKFLOW_DIR) else file.name
    return f"{name}={hashlib.sha256(file.read_bytes()).hexdigest()[:12]}"


def fingerprint_params(paths: list[str]) -> dict[str, str]:
    """One rule param per file, named code__<file as an identifier> and valued by its fingerprint."""
    params = {}
    for path in paths:
        value = fingerprint(path)
        params[f"code__{re.sub(r'[^0-9A-Za-z_]', '_', value.partition('=')[0])}"] = value
    return params
