from script_setup import setup

setup(snakemake)

from genzoo import rendering

rendering.run_manifold_gif(
    samples_dir=snakemake.input.samples,
    epochs=snakemake.params.epochs,
    run=snakemake.wildcards.run,
    out_path=snakemake.output[0],
    frame_ms=snakemake.params.frame_ms,
    last_frame_ms=snakemake.params.last_frame_ms,
)
