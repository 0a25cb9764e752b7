from script_setup import setup

setup(snakemake)

from genzoo import rendering

rendering.render_epoch_manifold(
    samples_dir=snakemake.input.samples,
    epoch=snakemake.params.epoch,
    run=snakemake.wildcards.run,
    out_path=snakemake.output[0],
    scale=snakemake.params.scale,
)
