from script_setup import setup

setup(snakemake)

from genzoo import summary

output = snakemake.output
summary.summarize(
    metrics_csvs=list(snakemake.input.metrics),
    info_paths=list(snakemake.input.infos),
    epoch_losses_csvs=list(snakemake.input.epoch_losses),
    reference_paths=list(snakemake.input.references),
    table_path=output.table,
    scores_path=output.scores,
    leaderboard_path=output.leaderboard,
    plot_paths={name: output[name] for name in ("fid", "classes_covered", "metrics", "comparison")},
    entries=snakemake.params.entries,
)
