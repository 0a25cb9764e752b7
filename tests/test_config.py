import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from genzoo import codedeps, config, files, models, presets

GOOD = {
    "datasets": {"mnist-5k": {"source": "mnist-5k"}},
    "runs": {"a": {"dataset": "mnist-5k", "preset": "pytorch-gan", "epochs": 3}},
}


def validate(cfg, repo):
    from snakemake.utils import validate as snakemake_validate

    snakemake_validate(cfg, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    return cfg


def test_schema_fills_every_section_default(repo):
    cfg = validate(copy.deepcopy(GOOD), repo)
    assert cfg["training"] == {"threads": 1, "scoring_device": "auto"}
    assert cfg["evaluation"] == {
        "n_samples": 1000, "seed": 0, "coverage_threshold": 0.025, "kid_subsets": 100, "kid_subset_size": 500,
    }  # fmt: skip
    assert cfg["render"]["frame_ms"] == 250 and cfg["classifier"]["epochs"] == 12


def test_default_config_is_valid(repo):
    cfg = validate(yaml.safe_load((repo / "config" / "config.yaml").read_text()), repo)
    config.check_config(cfg)
    assert {config.resolve_run(cfg, name)["preset"] for name in cfg["runs"]} == {"cs231n-lsgan", "tf-dcgan", "dlwp-vae"}


@pytest.mark.parametrize(
    "change,fragment",
    [
        (lambda c: c["runs"]["a"].update(epochs=-1), "-1 is less than the minimum of 1"),
        (lambda c: c["runs"]["a"].update(learning_rate=0.1), "'learning_rate' was unexpected"),
        (lambda c: c["runs"]["a"].pop("preset"), "'preset' is a required property"),
        (lambda c: c["runs"]["a"].update(device="tpu"), "'tpu' is not one of ['auto', 'cpu', 'cuda']"),
        (lambda c: c["datasets"]["mnist-5k"].update(source="cifar"), "'cifar' is not one of"),
        (lambda c: c["runs"].update({"../escape": c["runs"]["a"]}), "'../escape' does not match"),
        (lambda c: c.pop("runs"), "'runs' is a required property"),
        # Seeds go to torch.Generator.manual_seed, which overflows past 2**64 - 1; every seed stops at 2**32 - 1.
        (lambda c: c.update(evaluation={"seed": 2**64}), "18446744073709551616 is greater than the maximum"),
        (lambda c: c.update(classifier={"seed": 2**32}), "4294967296 is greater than the maximum of 4294967295"),
        (lambda c: c["datasets"]["mnist-5k"].update(split_seed=2**32), "4294967296 is greater than the maximum"),
        (lambda c: c["datasets"]["mnist-5k"].update(classifier={"file": "c.pt", "sha256": "2F1"}), "'2F1' does not"),
        (lambda c: c["datasets"]["mnist-5k"].update(classifier={"file": "c.pt"}), "'sha256' is a required property"),
        (lambda c: c["runs"]["a"].update(flush_denormal="yes"), "'yes' is not of type 'boolean'"),
    ],
)
def test_schema_rejects_bad_values_naming_them(repo, change, fragment):
    from snakemake.exceptions import WorkflowError

    cfg = copy.deepcopy(GOOD)
    change(cfg)
    with pytest.raises(WorkflowError) as error:
        validate(cfg, repo)
    assert fragment in str(error.value)


def test_a_kid_subset_larger_than_the_sample_is_refused_before_any_job():
    cfg = copy.deepcopy(GOOD) | {"evaluation": {"n_samples": 200, "kid_subset_size": 500}}
    with pytest.raises(config.ConfigError, match=r"evaluation\.kid_subset_size: 500 exceeds the 200 images scored"):
        config.check_config(cfg)
    cfg["evaluation"]["kid_subset_size"] = 200
    config.check_config(cfg)


def test_a_pinned_classifier_is_found_under_the_working_directory_then_the_workflows_folder(tmp_path, monkeypatch):
    shipped = config.WORKFLOW_ROOT / "config/classifiers/mnist.pt"
    cfg = copy.deepcopy(GOOD)
    cfg["datasets"]["mnist-5k"]["classifier"] = {
        "file": "config/classifiers/mnist.pt",
        "sha256": files.file_hash(shipped),
    }
    monkeypatch.chdir(tmp_path)
    assert config.pinned_classifier(cfg, "mnist-5k") == shipped
    mine = tmp_path / "config/classifiers/mnist.pt"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"mine")
    cfg["datasets"]["mnist-5k"]["classifier"]["sha256"] = files.file_hash(mine)
    assert config.pinned_classifier(cfg, "mnist-5k") == mine
    del cfg["datasets"]["mnist-5k"]["classifier"]
    assert config.pinned_classifier(cfg, "mnist-5k") is None


def test_a_missing_or_other_pinned_classifier_stops_before_any_job_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = copy.deepcopy(GOOD)
    cfg["datasets"]["mnist-5k"]["classifier"] = {"file": "elsewhere.pt", "sha256": "0" * 64}
    with pytest.raises(
        config.ConfigError,
        match=rf"datasets\.mnist-5k\.classifier\.file: no such file 'elsewhere\.pt' \(looked for "
        rf"{re.escape(str(tmp_path / 'elsewhere.pt'))} and {re.escape(str(config.WORKFLOW_ROOT / 'elsewhere.pt'))}\)",
    ):
        config.check_config(cfg)
    (tmp_path / "elsewhere.pt").write_bytes(b"another")
    with pytest.raises(
        config.ConfigError,
        match=rf"datasets\.mnist-5k\.classifier\.sha256: .*elsewhere\.pt has SHA-256 "
        rf"{files.file_hash(tmp_path / 'elsewhere.pt')}, but the config pins {'0' * 64}",
    ):
        config.check_config(cfg)
    monkeypatch.chdir(config.WORKFLOW_ROOT)  # one folder looked in, named once
    with pytest.raises(config.ConfigError, match=r"\(looked for \S+/elsewhere\.pt\);"):
        config.check_config(cfg)


def test_unknown_preset_names_the_key_and_the_choices():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"]["preset"] = "stylegan"
    with pytest.raises(
        config.ConfigError, match=r"runs\.a\.preset: unknown preset 'stylegan'; known presets: pytorch-gan"
    ):
        config.check_config(cfg)


def test_unknown_dataset_names_the_key():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"]["dataset"] = "cifar10"
    with pytest.raises(config.ConfigError, match=r"runs\.a\.dataset: 'cifar10' is not listed under datasets"):
        config.check_config(cfg)


def test_vae_rejects_a_discriminator_learning_rate():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"].update(preset="dlwp-vae", lr_d=0.1)
    with pytest.raises(config.ConfigError, match=r"runs\.a\.lr_d: preset 'dlwp-vae' is a VAE"):
        config.check_config(cfg)


def test_the_conditional_and_the_critic_presets_take_cuda_graphs():
    for preset in ("pytorch-cgan", "pytorch-wgan-gp"):
        cfg = copy.deepcopy(GOOD)
        cfg["runs"]["a"].update(preset=preset, cuda_graph=True)
        config.check_config(cfg)
        assert config.resolve_run(cfg, "a")["cuda_graph"] is True


def test_a_gan_run_may_take_another_loss_and_the_others_are_told_they_cannot():
    cfg = copy.deepcopy(GOOD)
    assert config.resolve_run(cfg, "a")["loss"] == "bce_sigmoid"  # pytorch-gan's own, as gan.py computes it
    cfg["runs"]["a"]["loss"] = "bce"
    config.check_config(cfg)
    assert config.resolve_run(cfg, "a")["loss"] == "bce"
    for preset in ("pytorch-wgan-gp", "dlwp1-gan", "dlwp-vae"):
        cfg["runs"]["a"]["preset"] = preset
        with pytest.raises(config.ConfigError, match=rf"runs\.a\.loss: preset '{preset}' takes its own loss"):
            config.check_config(cfg)


def test_an_adam_run_may_take_torchs_default_adam_and_rmsprop_runs_are_told_they_cannot():
    cfg = copy.deepcopy(GOOD)
    assert config.resolve_run(cfg, "a")["adam"] == "default"  # pytorch-gan's own, as gan.py calls it
    cfg["runs"]["a"]["adam"] = "fused"
    config.check_config(cfg)
    assert config.resolve_run(cfg, "a")["adam"] == "fused"
    assert config.resolve_run({**cfg, "runs": {"b": {"dataset": "mnist-5k", "preset": "tf-dcgan"}}}, "b")["adam"] == (
        "fused"  # the other Adam presets' own
    )
    cfg["runs"]["a"]["preset"] = "dlwp1-gan"
    with pytest.raises(config.ConfigError, match=r"runs\.a\.adam: preset 'dlwp1-gan' trains with rmsprop, not Adam"):
        config.check_config(cfg)


# The presets whose references run on TensorFlow (Keras included), whose CPU kernels flush subnormal floats to zero.
TENSORFLOW_PRESETS = {
    "tf-dcgan", "tf-basic-gan", "dlwp-vae", "dlwp1-vae", "dlwp1-gan", "cs231n-gan", "cs231n-lsgan", "cs231n-dcgan"
}  # fmt: skip


def test_the_tensorflow_presets_flush_subnormals_as_tensorflow_does_and_a_run_may_choose():
    assert {name for name, preset in presets.PRESETS.items() if preset.flush_denormal} == TENSORFLOW_PRESETS
    assert all("PyTorch" in presets.PRESETS[name].reference or "pytorch" in presets.PRESETS[name].reference
               for name in set(presets.PRESETS) - TENSORFLOW_PRESETS)  # fmt: skip
    cfg = copy.deepcopy(GOOD)
    assert config.resolve_run(cfg, "a")["flush_denormal"] is False  # pytorch-gan's own
    cfg["runs"]["a"]["flush_denormal"] = True
    config.check_config(cfg)
    assert config.resolve_run(cfg, "a")["flush_denormal"] is True


def test_run_overrides_win_over_preset_defaults():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"].update(batch_size=32, lr_g=0.01, seed=9)
    run = config.resolve_run(cfg, "a")
    preset = presets.PRESETS["pytorch-gan"]
    assert (run["batch_size"], run["lr_g"], run["seed"], run["epochs"]) == (32, 0.01, 9, 3)
    assert (run["lr_d"], run["latent_dim"], run["checkpoint_every"], run["device"]) == (preset.lr_d, 100, 1, "auto")


def test_seeds_make_one_run_per_seed_alike_but_for_the_seed():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["b"] = {"dataset": "mnist-5k", "preset": "cs231n-gan", "seeds": [1, 7], "lr_g": 0.01}
    config.check_config(cfg)
    runs = config.resolve_runs(cfg)
    assert list(runs) == ["a", "b-seed1", "b-seed7"]
    assert config.run_groups(cfg) == {"a": "a", "b-seed1": "b", "b-seed7": "b"}
    assert (runs["b-seed1"]["seed"], runs["b-seed7"]["seed"], runs["b-seed7"]["name"]) == (1, 7, "b-seed7")
    assert {**runs["b-seed1"], "seed": 7, "name": "b-seed7"} == runs["b-seed7"]
    assert runs["a"] == config.resolve_run(cfg, "a") and runs["b-seed1"]["lr_g"] == 0.01


def test_seeds_win_over_seed_so_an_overlay_can_repeat_a_run():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"].update(seed=1, seeds=[1, 2])
    config.check_config(cfg)
    assert [run["seed"] for run in config.resolve_runs(cfg).values()] == [1, 2]


def test_a_seeded_name_that_collides_with_another_run_is_refused():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"]["seeds"] = [2]
    cfg["runs"]["a-seed2"] = {"dataset": "mnist-5k", "preset": "pytorch-gan"}
    with pytest.raises(config.ConfigError, match=r"runs\.a\.seeds: seed 2 makes a run named 'a-seed2'"):
        config.check_config(cfg)


def test_select_trains_only_the_entries_it_names():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["b"] = {"dataset": "mnist-5k", "preset": "cs231n-gan", "seeds": [1, 2]}
    cfg["select"] = ["b"]
    config.check_config(cfg)
    assert list(config.resolve_runs(cfg)) == ["b-seed1", "b-seed2"]
    cfg["select"] = ["b", "c"]
    with pytest.raises(config.ConfigError, match=r"select: 'c' not listed under runs"):
        config.check_config(cfg)


@pytest.mark.parametrize("name", ["mnist.yaml", "fashion.yaml"])
def test_real_data_configs_are_valid_and_score_on_the_whole_test_set(repo, name):
    cfg = validate(yaml.safe_load((repo / "config" / name).read_text()), repo)
    config.check_config(cfg)
    assert {run["source"] for run in cfg["datasets"].values()} <= {"mnist", "fashion-mnist"}
    assert cfg["evaluation"]["n_samples"] == 10_000
    runs = config.resolve_runs(cfg)
    for entry, run in cfg["runs"].items():
        assert len(run["seeds"]) >= 3
        resolved = runs[f"{entry}-seed{run['seeds'][0]}"]
        preset = presets.PRESETS[run["preset"]]
        assert (resolved["epochs"], resolved["batch_size"], resolved["lr_g"]) == (
            preset.epochs, preset.batch_size, preset.lr_g,
        )  # fmt: skip
    for dataset, settings in cfg["datasets"].items():  # every machine scores with the one classifier it pins
        assert files.file_hash(config.pinned_classifier(cfg, dataset)) == settings["classifier"]["sha256"]
    if name == "mnist.yaml":
        assert sorted(run["preset"] for run in cfg["runs"].values()) == sorted(presets.PRESETS)
        assert cfg["runs"]["tf-dcgan"]["checkpoint_every"] == 15  # the tutorial's `if (epoch + 1) % 15 == 0`


def test_folder_mirrors_pass_the_schema_and_other_schemes_do_not(repo):
    from snakemake.exceptions import WorkflowError

    cfg = copy.deepcopy(GOOD)
    cfg["datasets"]["full"] = {"source": "mnist", "mirrors": ["/shared/mnist", "file:///x/", "https://m.org/mnist/"]}
    validate(cfg, repo)
    cfg["datasets"]["full"]["mirrors"] = ["s3://bucket/mnist"]
    with pytest.raises(WorkflowError, match="s3://bucket/mnist"):
        validate(cfg, repo)


def test_presets_reproduce_their_references():
    gan, dcgan, vae = (presets.PRESETS[n] for n in ("pytorch-gan", "tf-dcgan", "dlwp-vae"))
    assert (gan.lr_g, gan.betas, gan.batch_size, gan.latent_dim, gan.d_loss_scale) == (2e-4, (0.5, 0.999), 64, 100, 0.5)
    assert (dcgan.lr_g, dcgan.betas, dcgan.optimizer_eps, dcgan.batch_size, dcgan.n_fixed) == (
        1e-4,
        (0.9, 0.999),
        1e-7,
        256,
        16,
    )
    assert (vae.lr_g, vae.batch_size, vae.latent_dim, vae.pixel_range, vae.epochs) == (1e-3, 128, 2, "sigmoid", 30)


def test_planning_does_not_import_torch(repo):
    """The Snakefile imports genzoo.config on every invocation; torch there would cost seconds."""
    code = "import sys; import genzoo.config, genzoo.codedeps; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo / "workflow", capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_code_dependencies_follow_imports():
    def names(*modules):
        return {str(Path(p).relative_to(codedeps.PACKAGE_DIR)) for p in codedeps.module_closure(*modules)}

    assert names("rendering") == {"__init__.py", "files.py", "rendering.py", "schedule.py"}
    training = names("training")
    assert {"losses.py", "data.py", "schedule.py", "models/__init__.py"} <= training
    assert "rendering.py" not in training and "evaluation.py" not in training
    # The preset registry and the architectures are no part of the loop: each run adds its own model file.
    assert not {"presets.py", "config.py"} & training and not any(
        name.startswith("models/") for name in training - {"models/__init__.py"}
    )
    tf_dcgan = names("training", models.module_of("tf-dcgan")) - training
    assert tf_dcgan == {"models/tf_dcgan.py", "models/keras_layers.py"}
    assert names("training", models.module_of("pytorch-cgan")) - training == {
        "models/pytorch_cgan.py",
        "models/mlp_gan.py",
    }
    # Scoring samples generators; it needs no training loop, update rule or resume state.
    evaluation = names("evaluation")
    assert {"sampling.py", "models/__init__.py", "schedule.py"} <= evaluation
    assert not {"training.py", "steps.py", "resume.py"} & evaluation
    assert "plots.py" not in names("pages") and "scores.py" in names("pages")  # pages load no matplotlib
    classifier = names("classifier")
    assert "models/__init__.py" not in classifier and "training.py" not in classifier


def test_code_dependencies_reject_unknown_modules():
    with pytest.raises(ValueError, match="no module"):
        codedeps.module_closure("nonexistent")


def test_the_seeds_overlay_repeats_every_default_run_three_times(repo):
    from snakemake.utils import update_config

    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    update_config(cfg, yaml.safe_load((repo / "config" / "seeds.yaml").read_text()))
    validate(cfg, repo)
    config.check_config(cfg)
    runs = config.resolve_runs(cfg)
    assert sorted(runs) == sorted(f"{run}-seed{seed}" for run in ("lsgan", "dcgan", "vae") for seed in (1, 2, 3))
    assert runs["dcgan-seed2"]["epochs"] == cfg["runs"]["dcgan"]["epochs"] and runs["dcgan-seed2"]["seed"] == 2


def test_the_default_configs_list_of_presets_is_the_registry(repo):
    """config/config.yaml names every preset beside the first run's `preset:` key; it must not drift."""
    text = (repo / "config" / "config.yaml").read_text()
    listed = re.search(r"preset: \S+\s+#((?:[^\n]*\n\s+#\s*\|)*[^\n]*)", text).group(1)
    assert sorted(name.strip(" #\n") for name in listed.split("|")) == sorted(presets.PRESETS)


def test_a_key_set_twice_in_a_config_file_is_found_with_its_line(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("runs:\n  gan: {dataset: d, preset: pytorch-gan}\n  gan: {dataset: d, preset: dlwp-vae}\n")
    assert config.duplicate_keys(path) == ["gan (line 3)"]
    path.write_text("runs:\n  gan: {dataset: d, preset: pytorch-gan}\n  vae: {dataset: d, preset: dlwp-vae}\n")
    assert config.duplicate_keys(path) == []
    path.write_text("base: &b {dataset: d}\nruns:\n  gan: {<<: *b, preset: pytorch-gan}\n")  # a merge is no repeat
    assert config.duplicate_keys(path) == []
    path.write_text('{\n\t"runs": {}\n}\n')  # JSON indented with tabs: Snakemake reads it, YAML does not
    assert config.duplicate_keys(path) == []


def test_a_budget_in_steps_becomes_epochs_of_steps_per_epoch():
    cfg = copy.deepcopy(GOOD)
    name = next(iter(cfg["runs"]))
    cfg["runs"][name] |= {"steps": 10_000, "steps_per_epoch": 100}
    cfg["runs"][name].pop("epochs", None)
    config.check_config(cfg)
    run = config.resolve_run(cfg, name)
    assert (run["epochs"], run["steps_per_epoch"]) == (100, 100)
    for change, message in [
        ({"steps_per_epoch": 300}, r"steps: 10000 is not a multiple of steps_per_epoch 300"),
        ({"epochs": 5}, r"set epochs or steps, not both"),
        ({"steps_per_epoch": None}, r"steps: a budget in steps needs steps_per_epoch"),
        ({"steps": 10_001, "steps_per_epoch": 1}, r"10001 steps of 1 an epoch are 10001 epochs, more than the 10000"),
    ]:
        bad = copy.deepcopy(cfg)
        bad["runs"][name] |= change
        bad["runs"][name] = {key: value for key, value in bad["runs"][name].items() if value is not None}
        with pytest.raises(config.ConfigError, match=rf"runs\.{name}.*{message}"):
            config.check_config(bad)
    cfg["runs"][name] |= {"steps": config.MAX_EPOCHS, "steps_per_epoch": 1}  # the schema's most epochs: allowed
    config.check_config(cfg)
    assert config.MAX_EPOCHS == 10_000


def test_a_moving_average_is_refused_where_it_cannot_work():
    for preset, extra, message in [
        ("dlwp-vae", {}, r"runs\.a\.ema: .*preset 'dlwp-vae' is a VAE"),
        ("pytorch-gan", {"compile": True}, r"runs\.a\.ema: .*it compiles or graphs the steps"),
    ]:
        cfg = copy.deepcopy(GOOD)
        cfg["runs"]["a"] |= {"preset": preset, "ema": 0.999, **extra}
        with pytest.raises(config.ConfigError, match=message):
            config.check_config(cfg)
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"]["ema"] = 0.999
    config.check_config(cfg)
    assert config.resolve_run(cfg, "a")["ema"] == 0.999 and config.resolve_run(GOOD, "a")["ema"] is None


@pytest.mark.parametrize(
    "preset,settings,gpu_here,graphs",
    [
        ("pytorch-gan", {}, False, False),  # device auto on a machine without a GPU: the CPU, no graph
        ("pytorch-gan", {}, True, True),  # device auto where the planning machine has a GPU
        ("pytorch-gan", {"device": "cpu"}, True, False),
        ("pytorch-gan", {"device": "cuda"}, False, True),  # bound for a GPU wherever it is planned (a cluster)
        ("dlwp-vae", {"device": "cuda"}, False, True),
        ("pytorch-cgan", {"device": "cuda"}, True, True),  # its labels are one more static input of the graph
        ("pytorch-wgan-gp", {"device": "cuda"}, True, True),  # one graph per phase (with and without G's update)
        ("dlwp1-gan", {"device": "cuda"}, True, False),  # steps no graph can replay stay eager
        ("pytorch-gan", {"device": "cuda", "ema": 0.999}, True, False),  # the average is updated eagerly
        ("pytorch-gan", {"device": "cuda", "compile": True}, True, False),  # compiled and graphed: never measured
        ("dlwp1-vae", {"device": "cuda"}, True, False),  # Keras' RMSprop decays its rate every step
        ("pytorch-gan", {"device": "cuda", "cuda_graph": False}, True, False),  # as set
        ("pytorch-gan", {"device": "cpu", "cuda_graph": True}, False, True),  # as set (no effect on the CPU)
    ],
)
def test_cuda_graph_auto_graphs_the_runs_bound_for_a_gpu_whose_step_a_graph_replays(preset, settings, gpu_here, graphs):
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"] |= {"preset": preset, **settings}
    config.check_config(cfg)
    assert config.resolve_run(cfg, "a", gpu_here=gpu_here)["cuda_graph"] is graphs
    assert config.resolve_runs(cfg, gpu_here=gpu_here)["a"]["cuda_graph"] is graphs


def test_cuda_graph_auto_plans_a_cpu_run_as_the_former_default_did():
    """What the train job gets (and what its resume state is keyed on) is what `cuda_graph: false`, the default
    before `auto`, gave: finished CPU runs are neither retrained nor refused their saved states."""
    for name in ("pytorch-gan", "tf-dcgan", "dlwp-vae", "cs231n-dcgan"):
        cfg = copy.deepcopy(GOOD)
        cfg["runs"]["a"]["preset"] = name
        former = copy.deepcopy(cfg)
        former["runs"]["a"]["cuda_graph"] = False
        assert config.resolve_run(cfg, "a") == config.resolve_run(former, "a")
        cfg["runs"]["a"]["device"] = "cpu"
        assert config.resolve_run(cfg, "a", gpu_here=True)["cuda_graph"] is False


def test_a_cuda_graph_asked_for_where_none_can_replay_the_step_is_refused():
    for preset, message in [
        ("dlwp1-gan", "preset 'dlwp1-gan' decays its learning rate every step"),
    ]:
        cfg = copy.deepcopy(GOOD)
        cfg["runs"]["a"] |= {"preset": preset, "cuda_graph": True}
        with pytest.raises(
            config.ConfigError, match=rf"runs\.a\.cuda_graph: {message}.*; set cuda_graph: auto or false"
        ):
            config.check_config(cfg)
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"] |= {"preset": "pytorch-gan", "ema": 0.999, "cuda_graph": True}
    with pytest.raises(config.ConfigError, match=r"runs\.a\.ema: .*it compiles or graphs the steps"):
        config.check_config(cfg)
    cfg["runs"]["a"]["cuda_graph"] = "auto"
    config.check_config(cfg)  # auto leaves the average's run eager
