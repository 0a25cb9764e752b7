from pathlib import Path

from script_setup import setup

setup(snakemake)

from genzoo import samples

samples.interpolation_gif(
    run_dir=Path(snakemake.input.info).parent,
    out_path=snakemake.output[0],
    frame_ms=snakemake.params.frame_ms,
    scale=snakemake.params.scale,
    threads=snakemake.threads,
)
