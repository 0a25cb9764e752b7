rule download:
    output:
        raw=directory("results/data/{dataset}/raw"),
    log:
        "results/logs/download/{dataset}.log",
    conda:
        "../../envs/torch.yaml"
    params:
        source=lambda wildcards: config["datasets"][wildcards.dataset]["source"],
        content=lambda wildcards: pinned_content(config["datasets"][wildcards.dataset]["source"]),
    # Verified data are the same data whatever fetched them, wherever from: neither the mirrors nor the code that
    # fetches (sources.py) are params, since a rerun would rerun every job downstream; the pinned checksums are
    # (download.py reads the mirrors from the config).
    script:
        "../scripts/download.py"


rule normalize:
    input:
        raw=rules.download.output.raw,
    output:
        train="results/data/{dataset}/train.pt",
        test="results/data/{dataset}/test.pt",
        stats="results/data/{dataset}/stats.json",
    log:
        "results/logs/normalize/{dataset}.log",
    conda:
        "../../envs/torch.yaml"
    resources:
        mem_mb=2000,
    params:
        **package_code("normalize.py", "data"),
        source=lambda wildcards: config["datasets"][wildcards.dataset]["source"],
        test_size=lambda wildcards: config["datasets"][wildcards.dataset]["test_size"],
        split_seed=lambda wildcards: config["datasets"][wildcards.dataset]["split_seed"],
        train_subset=lambda wildcards: config["datasets"][wildcards.dataset].get("train_subset"),
    script:
        "../scripts/normalize.py"
