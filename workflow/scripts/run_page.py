from script_setup import setup

setup(snakemake)

from genzoo import pages

animations = {"samples of the fixed noise": snakemake.input.gif}  # the page adds which epochs (frame_epochs)
if snakemake.input.manifold_gif:
    animations["2-D latent manifold"] = snakemake.input.manifold_gif[0]
pages.run_page(
    run=snakemake.wildcards.run,
    preset=snakemake.params.preset,
    animations=animations,
    final_grid=snakemake.input.final_grid,
    metrics_csv=snakemake.input.metrics,
    out_path=snakemake.output[0],
    frame_epochs=snakemake.params.frame_epochs,
)
