from script_setup import setup

setup(snakemake)

from genzoo import rendering

rendering.assemble_gif(
    frame_paths=list(snakemake.input.frames),
    out_path=snakemake.output[0],
    frame_ms=snakemake.params.frame_ms,
    last_frame_ms=snakemake.params.last_frame_ms,
)
