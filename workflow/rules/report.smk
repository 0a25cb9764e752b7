rule plot_losses:
    input:
        step_losses=rules.train.output.step_losses,
        epoch_losses=rules.train.output.epoch_losses,
    output:
        report(
            "results/runs/{run}/losses.png",
            caption="../report/losses.rst",
            category="Runs",
            subcategory="{run}",
            labels={"figure": "losses"},
        ),
    log:
        "results/logs/plot_losses/{run}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("plot_losses.py", "plots"),
    script:
        "../scripts/plot_losses.py"


rule summary:
    input:
        metrics=expand("results/runs/{run}/metrics.csv", run=RUNS),
        infos=expand("results/runs/{run}/train_info.json", run=RUNS),
        epoch_losses=expand("results/runs/{run}/losses_epochs.csv", run=RUNS),
        references=expand("results/classifiers/{dataset}/real_scores.json", dataset=used_datasets()),
    output:
        table="results/summary.csv",
        scores="results/scores.csv",
        leaderboard="results/leaderboard.md",
        fid=report(
            "results/plots/fid.png",
            caption="../report/fid.rst",
            category="Comparison",
            labels={"figure": "FID by epoch"},
        ),
        classes_covered=report(
            "results/plots/classes_covered.png",
            caption="../report/classes_covered.rst",
            category="Comparison",
            labels={"figure": "classes covered by epoch"},
        ),
        metrics=report(
            "results/plots/metrics.png",
            caption="../report/metrics.rst",
            category="Comparison",
            labels={"figure": "every score by epoch"},
        ),
        comparison=report(
            "results/plots/comparison.png",
            caption="../report/comparison.rst",
            category="Comparison",
            labels={"figure": "best checkpoints"},
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("summary.py", "summary"),
        # Sorted: Snakemake compares params with their order, and the order of runs in a config file is not a change.
        entries=dict(sorted(RUN_GROUPS.items())),
    script:
        "../scripts/summary.py"


rule run_page:
    input:
        gif="results/runs/{run}/samples.gif",
        manifold_gif=manifold_animation,
        final_grid=final_frame,
        metrics="results/runs/{run}/metrics.csv",
    output:
        report(
            "results/runs/{run}/page.html",
            caption="../report/run_page.rst",
            category="Runs",
            subcategory="{run}",
            labels={"figure": "samples and scores"},
        ),
    log:
        "results/logs/run_page/{run}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("run_page.py", "pages"),
        preset=lambda wildcards: RUNS[wildcards.run]["preset"],
        frame_epochs=lambda wildcards: frame_epochs(wildcards.run),
    script:
        "../scripts/run_page.py"


rule leaderboard_page:
    input:
        table=rules.summary.output.table,
        references=rules.summary.input.references,
    output:
        report(
            "results/leaderboard.html",
            caption="../report/leaderboard.rst",
            category="Leaderboard",
            labels={"table": "runs by their best FID"},
        ),
    log:
        "results/logs/leaderboard_page.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("leaderboard_page.py", "pages"),
    script:
        "../scripts/leaderboard_page.py"
