rule train:
    input:
        train=dataset_file("train.pt"),
    output:
        checkpoints=directory("results/runs/{run}/checkpoints"),
        samples=directory("results/runs/{run}/samples"),
        step_losses="results/runs/{run}/losses_steps.csv",
        epoch_losses="results/runs/{run}/losses_epochs.csv",
        info="results/runs/{run}/train_info.json",
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=4000,
        # minutes; a run that hits it resumes from its last finished epoch when requeued
        runtime=720,
        gpu=gpus_for_run,
    params:
        **run_code("train.py", "training"),
        **setting_params("run", lambda wildcards: RUNS[wildcards.run], genzoo_config.RUN_KEYS),
        # Not an output: Snakemake would delete it before a rerun, and with it the state to resume from.
        resume_dir=lambda wildcards: f"results/runs/{wildcards.run}/resume",
    script:
        "../scripts/train.py"
