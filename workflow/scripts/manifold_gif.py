from pathlib import Path

from script_setup import setup

setup(snakemake)

from genzoo import rendering

epochs = snakemake.params.epochs
rendering.manifold_gif(
    manifold_paths=[str(Path(snakemake.input.samples) / f"manifold_{epoch}.npy") for epoch in epochs],
    titles=[f"{snakemake.params.run}: latent manifold, epoch {int(epoch)}" for epoch in epochs],
    out_path=snakemake.output[0],
    frame_ms=snakemake.params.frame_ms,
    last_frame_ms=snakemake.params.last_frame_ms,
)
