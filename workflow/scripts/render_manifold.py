from pathlib import Path

from script_setup import setup

setup(snakemake)

from genzoo import rendering

rendering.render_manifold(
    manifold_path=str(Path(snakemake.input.samples) / f"manifold_{snakemake.params.epoch}.npy"),
    out_path=snakemake.output[0],
    title=snakemake.params.title,
    scale=snakemake.params.scale,
)
