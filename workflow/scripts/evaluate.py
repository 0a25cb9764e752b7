from script_setup import setup

setup(snakemake)

from genzoo import evaluation

settings = snakemake.params.settings
evaluation.evaluate_run(
    run=snakemake.params.generator,
    checkpoints_dir=snakemake.input.checkpoints,
    classifier_path=snakemake.input.classifier,
    classifier_info_path=snakemake.input.classifier_info,
    test_path=snakemake.input.test,
    metrics_dir=snakemake.output.metrics,
    metrics_csv=snakemake.output.csv,
    n_samples=settings["n_samples"],
    seed=settings["seed"],
    coverage_threshold=settings["coverage_threshold"],
    threads=snakemake.threads,
)
