from script_setup import setup

setup(snakemake)

from genzoo import plots

plots.plot_losses(
    step_losses_csv=snakemake.input.step_losses,
    epoch_losses_csv=snakemake.input.epoch_losses,
    out_path=snakemake.output[0],
    run=snakemake.wildcards.run,
)
