from script_setup import setup

setup(snakemake)

from genzoo import evaluation

evaluation.evaluate_run(
    run=snakemake.params.generator,
    checkpoints_dir=snakemake.input.checkpoints,
    classifier_path=snakemake.input.classifier,
    reference_path=snakemake.input.reference,
    test_path=snakemake.input.test,
    metrics_dir=snakemake.output.metrics,
    metrics_csv=snakemake.output.csv,
    settings=snakemake.params.settings,
    threads=snakemake.threads,
)
