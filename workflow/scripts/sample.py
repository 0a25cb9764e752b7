from pathlib import Path

from script_setup import setup

setup(snakemake)

from genzoo import samples

samples.sample_run(
    run_dir=Path(snakemake.input.info).parent,
    out_path=snakemake.output[0],
    n=int(snakemake.wildcards.n),
    seed=int(snakemake.wildcards.seed),
    scale=snakemake.params.scale,
    threads=snakemake.threads,
)
