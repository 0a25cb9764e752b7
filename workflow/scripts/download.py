from script_setup import setup

setup(snakemake)

from genzoo import data

data.fetch(snakemake.params.source, snakemake.output.raw, snakemake.params.mirrors)
