rule render_frame:
    input:
        samples=rules.train.output.samples,
    output:
        "results/runs/{run}/frames/epoch_{epoch}.png",
    log:
        "results/logs/render_frame/{run}/epoch_{epoch}.log",
    benchmark:
        "results/benchmarks/render_frame/{run}/epoch_{epoch}.tsv"
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("render_frame.py", "rendering"),
        preset=lambda wildcards: RUNS[wildcards.run]["preset"],
        scale=config["render"]["scale"],
        frame_range=config["render"]["frame_range"],
        steps_per_epoch=lambda wildcards: RUNS[wildcards.run]["steps_per_epoch"],
    script:
        "../scripts/render_frame.py"


rule render_manifold:
    input:
        samples=rules.train.output.samples,
    output:
        report(
            "results/runs/{run}/manifold.png",
            caption="../report/manifold.rst",
            category="Runs",
            subcategory="{run}",
            labels={"figure": "latent manifold"},
        ),
    log:
        "results/logs/render_manifold/{run}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("render_manifold.py", "rendering"),
        epoch=lambda wildcards: RUNS[wildcards.run]["epochs"],
        scale=config["render"]["scale"],
    script:
        "../scripts/render_manifold.py"


rule manifold_gif:
    input:
        samples=rules.train.output.samples,
    output:
        "results/runs/{run}/manifold.gif",
    log:
        "results/logs/manifold_gif/{run}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("manifold_gif.py", "rendering"),
        epochs=lambda wildcards: frame_epochs(wildcards.run),
        frame_ms=config["render"]["frame_ms"],
        last_frame_ms=config["render"]["last_frame_ms"],
    script:
        "../scripts/manifold_gif.py"


rule gif:
    input:
        frames=frame_paths,
    output:
        "results/runs/{run}/samples.gif",
    log:
        "results/logs/gif/{run}.log",
    benchmark:
        "results/benchmarks/gif/{run}.tsv"
    conda:
        "../../envs/plot.yaml"
    params:
        **package_code("gif.py", "rendering"),
        frame_ms=config["render"]["frame_ms"],
        last_frame_ms=config["render"]["last_frame_ms"],
    script:
        "../scripts/gif.py"


rule sample:
    input:
        checkpoints=rules.train.output.checkpoints,
        info=rules.train.output.info,
    output:
        "results/runs/{run}/samples_{n}_seed{seed}.png",
    log:
        "results/logs/sample/{run}/samples_{n}_seed{seed}.log",
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    params:
        **package_code("sample.py", "samples"),
        scale=config["render"]["scale"],
    script:
        "../scripts/sample.py"


rule interpolate:
    input:
        checkpoints=rules.train.output.checkpoints,
        info=rules.train.output.info,
    output:
        "results/runs/{run}/interpolation.gif",
    log:
        "results/logs/interpolate/{run}.log",
    conda:
        "../../envs/torch.yaml"
    threads: config["training"]["threads"]
    params:
        **package_code("interpolate.py", "samples"),
        frame_ms=config["render"]["frame_ms"],
        scale=config["render"]["scale"],
    script:
        "../scripts/interpolate.py"
