# `snakemake` run from the repository's root: the workflow itself is workflow/Snakefile, which other
# workflows import as a module (README: "Use it from your own workflow").
from pathlib import Path

workflow.include(str(Path(workflow.basedir) / "workflow" / "Snakefile"), overwrite_default_target=True)
