from script_setup import setup

setup(snakemake)

from genzoo import sources

sources.fetch(snakemake.params.source, snakemake.output.raw, snakemake.params.mirrors)
