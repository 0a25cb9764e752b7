from script_setup import setup

setup(snakemake)

from genzoo import classifier
from genzoo.config import settings_from_params

settings = settings_from_params(snakemake.params, "settings")
classifier.train_classifier(
    train_path=snakemake.input.train,
    test_path=snakemake.input.test,
    model_path=snakemake.output.model,
    info_path=snakemake.output.info,
    epochs=settings["epochs"],
    batch_size=settings["batch_size"],
    lr=settings["lr"],
    seed=settings["seed"],
    min_accuracy=snakemake.params.min_accuracy,
    floor_key=f"datasets.{snakemake.wildcards.dataset}.min_classifier_accuracy",
    threads=snakemake.threads,
)
