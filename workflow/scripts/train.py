from script_setup import setup

setup(snakemake)

from genzoo import gpus
from genzoo.config import settings_from_params

run = settings_from_params(snakemake.params, "run")
gpus.claim_gpu_unless_cpu(run["device"])

from genzoo import training

training.train(
    run=run,
    train_path=snakemake.input.train,
    checkpoints_dir=snakemake.output.checkpoints,
    samples_dir=snakemake.output.samples,
    step_losses_path=snakemake.output.step_losses,
    epoch_losses_path=snakemake.output.epoch_losses,
    info_path=snakemake.output.info,
    resume_dir=snakemake.params.resume_dir,
    threads=snakemake.threads,
)
