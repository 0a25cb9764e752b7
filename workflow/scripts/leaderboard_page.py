from script_setup import setup

setup(snakemake)

from genzoo import pages

pages.leaderboard_page(
    summary_csv=snakemake.input.table,
    reference_paths=list(snakemake.input.references),
    out_path=snakemake.output[0],
)
