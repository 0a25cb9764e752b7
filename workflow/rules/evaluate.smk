rule train_classifier:
    input:
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
    output:
        model="results/classifiers/{dataset}/classifier.pt",
        info="results/classifiers/{dataset}/classifier.json",
    log:
        "results/logs/train_classifier/{dataset}.log",
    benchmark:
        "results/benchmarks/train_classifier/{dataset}.tsv"
    wildcard_constraints:
        dataset=TRAINED_DATASETS,
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        **package_code("train_classifier.py", "classifier"),
        **section_settings("classifier"),
        min_accuracy=lambda wildcards: config["datasets"][wildcards.dataset]["min_classifier_accuracy"],
    script:
        "../scripts/train_classifier.py"


rule pinned_classifier:
    input:
        test="results/data/{dataset}/test.pt",
    output:
        model="results/classifiers/{dataset}/classifier.pt",
        info="results/classifiers/{dataset}/classifier.json",
    log:
        "results/logs/pinned_classifier/{dataset}.log",
    wildcard_constraints:
        dataset=PINNED_DATASETS,
    conda:
        "../../envs/torch.yaml"
    params:
        **package_code("pinned_classifier.py", "classifier"),
        sha256=lambda wildcards: config["datasets"][wildcards.dataset]["classifier"]["sha256"],
        min_accuracy=lambda wildcards: config["datasets"][wildcards.dataset]["min_classifier_accuracy"],
    script:
        "../scripts/pinned_classifier.py"


rule real_scores:
    input:
        classifier="results/classifiers/{dataset}/classifier.pt",
        classifier_info="results/classifiers/{dataset}/classifier.json",
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
    output:
        "results/classifiers/{dataset}/real_scores.json",
    log:
        "results/logs/real_scores/{dataset}.log",
    benchmark:
        "results/benchmarks/real_scores/{dataset}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=scoring_mem_mb(),
        runtime=15,
    params:
        **package_code("real_scores.py", "real_scores"),
        **section_settings("evaluation"),
    script:
        "../scripts/real_scores.py"


rule evaluate:
    input:
        checkpoints=rules.train.output.checkpoints,
        classifier=classifier_file("classifier.pt"),
        reference=classifier_file("real_scores.json"),
        test=dataset_file("test.pt"),
    output:
        metrics=directory("results/runs/{run}/metrics"),
        csv="results/runs/{run}/metrics.csv",
    log:
        "results/logs/evaluate/{run}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=scoring_mem_mb(),
        runtime=60,
    params:
        **run_code("evaluate.py", "evaluation"),
        **setting_params("generator", lambda wildcards: RUNS[wildcards.run], GENERATOR_KEYS),
        **section_settings("evaluation"),
    script:
        "../scripts/evaluate.py"
