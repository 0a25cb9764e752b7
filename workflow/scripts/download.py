from script_setup import setup

setup(snakemake)

from genzoo import sources

# Mirrors come from the config, not from params: where verified data came from must not rerun the download (data.smk).
mirrors = snakemake.config["datasets"][snakemake.wildcards.dataset].get("mirrors")
sources.fetch(snakemake.params.source, snakemake.output.raw, mirrors)
