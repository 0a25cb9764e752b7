from script_setup import setup

setup(snakemake)

from genzoo import rendering

rendering.render_epoch_frame(
    samples_dir=snakemake.input.samples,
    epoch=int(snakemake.wildcards.epoch),
    run=snakemake.wildcards.run,
    preset=snakemake.params.preset,
    out_path=snakemake.output[0],
    scale=snakemake.params.scale,
    frame_range=snakemake.params.frame_range,
    steps_per_epoch=snakemake.params.steps_per_epoch,
)
