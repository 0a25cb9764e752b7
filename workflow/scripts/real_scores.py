from script_setup import setup

setup(snakemake)

from genzoo import gpus

device = snakemake.config["training"]["scoring_device"]  # where, not what: no param, so no rerun when it changes
gpus.claim_gpu_unless_cpu(device)

from genzoo import real_scores
from genzoo.config import settings_from_params

real_scores.real_reference(
    classifier_path=snakemake.input.classifier,
    classifier_info_path=snakemake.input.classifier_info,
    train_path=snakemake.input.train,
    test_path=snakemake.input.test,
    out_path=snakemake.output[0],
    settings=settings_from_params(snakemake.params, "settings"),
    threads=snakemake.threads,
    device=device,
)
