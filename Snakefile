import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

# The shared package sits in workflow/; its config module is pure Python (no torch), cheap to import here.
sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))
from genzoo.config import SCHEMA, schema_errors

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


try:
    validate(config, str(SCHEMA))
except WorkflowError:
    raise WorkflowError("invalid config:\n  " + "\n  ".join(schema_errors(config))) from None


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/report.smk"


# Cheap jobs, and the download (cluster nodes often have no internet), run where Snakemake runs, not as cluster jobs.
localrules:
    all,
    download,
    render_frame,
    render_manifold,
    manifold_gif,
    gif,
    plot_losses,
    summary,
    run_page,
    leaderboard_page,


rule all:
    default_target: True
    input:
        all_targets(),
