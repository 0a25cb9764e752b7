rule plot_losses:
    input:
        step_losses=rules.train.output.step_losses,
        epoch_losses=rules.train.output.epoch_losses,
        code=package_code("plots"),
    output:
        "results/runs/{run}/losses.png",
    log:
        "results/logs/plot_losses/{run}.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/plot_losses.py"


rule summary:
    input:
        metrics=expand("results/runs/{run}/metrics.csv", run=RUNS),
        infos=expand("results/runs/{run}/train_info.json", run=RUNS),
        references=expand("results/classifiers/{dataset}/real_scores.json", dataset=config["datasets"]),
        code=package_code("summary"),
    output:
        table="results/summary.csv",
        scores="results/scores.csv",
        leaderboard="results/leaderboard.md",
        fid="results/plots/fid.png",
        classes_covered="results/plots/classes_covered.png",
        metrics="results/plots/metrics.png",
        comparison="results/plots/comparison.png",
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/plot.yaml"
    script:
        "../scripts/summary.py"
