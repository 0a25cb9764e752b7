from script_setup import setup

setup(snakemake)

from genzoo import gpus

device = snakemake.config["training"]["scoring_device"]  # where, not what: no param, so no rerun when it changes
gpus.claim_gpu_unless_cpu(device)

from genzoo import evaluation
from genzoo.config import settings_from_params

evaluation.evaluate_run(
    run=settings_from_params(snakemake.params, "generator"),
    checkpoints_dir=snakemake.input.checkpoints,
    classifier_path=snakemake.input.classifier,
    reference_path=snakemake.input.reference,
    test_path=snakemake.input.test,
    metrics_dir=snakemake.output.metrics,
    metrics_csv=snakemake.output.csv,
    settings=settings_from_params(snakemake.params, "settings"),
    threads=snakemake.threads,
    device=device,
)
