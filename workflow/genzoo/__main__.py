"""python -m genzoo sample ...: the package's commands (run with PYTHONPATH=workflow from the repository root)."""

import sys

from . import samples

COMMANDS = {"sample": samples.main}

if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    sys.exit(f"usage: python -m genzoo {{{','.join(COMMANDS)}}} ... (python -m genzoo sample --help)")
COMMANDS[sys.argv[1]](sys.argv[2:])
