from script_setup import setup

setup(snakemake)

from genzoo import data

data.normalize(
    source=snakemake.params.source,
    raw_dir=snakemake.input.raw,
    train_path=snakemake.output.train,
    test_path=snakemake.output.test,
    stats_path=snakemake.output.stats,
    test_size=snakemake.params.test_size,
    split_seed=snakemake.params.split_seed,
    train_subset=snakemake.params.train_subset,
)
