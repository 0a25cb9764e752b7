from script_setup import setup

setup(snakemake)

from genzoo import summary

summary.summarize(
    metrics_csvs=list(snakemake.input.metrics),
    info_paths=list(snakemake.input.infos),
    classifier_info_paths=list(snakemake.input.classifiers),
    table_path=snakemake.output.table,
    fid_plot_path=snakemake.output.fid,
    coverage_plot_path=snakemake.output.coverage,
)
