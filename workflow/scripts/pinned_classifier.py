from script_setup import setup

setup(snakemake)

from genzoo import classifier
from genzoo.config import pinned_classifier

dataset = snakemake.wildcards.dataset
key = f"datasets.{dataset}.classifier"
classifier.use_pinned_classifier(
    # Found from the config here, not passed as a param or input: where the file lies is no reason to rerun
    # what was scored with it (its pinned hash, a param, is).
    source=pinned_classifier(snakemake.config, dataset),
    sha256=snakemake.params.sha256,
    test_path=snakemake.input.test,
    model_path=snakemake.output.model,
    info_path=snakemake.output.info,
    min_accuracy=snakemake.params.min_accuracy,
    floor_key=f"datasets.{dataset}.min_classifier_accuracy",
    key=key,
    threads=snakemake.threads,
)
