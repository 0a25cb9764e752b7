import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from genzoo import codedeps, config, presets

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
    assert cfg["training"] == {"threads": 1}
    assert cfg["evaluation"] == {
        "n_samples": 1000, "seed": 0, "coverage_threshold": 0.025, "kid_subsets": 100, "kid_subset_size": 500,
    }  # fmt: skip
    assert cfg["render"]["frame_ms"] == 250 and cfg["classifier"]["epochs"] == 12


def test_default_config_is_valid(repo):
    cfg = validate(yaml.safe_load((repo / "config" / "config.yaml").read_text()), repo)
    config.check_config(cfg)
    assert {config.resolve_run(cfg, name)["preset"] for name in cfg["runs"]} == {"pytorch-gan", "tf-dcgan", "dlwp-vae"}


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
    ],
)
def test_schema_rejects_bad_values_naming_them(repo, change, fragment):
    from snakemake.exceptions import WorkflowError

    cfg = copy.deepcopy(GOOD)
    change(cfg)
    with pytest.raises(WorkflowError) as error:
        validate(cfg, repo)
    assert fragment in str(error.value)


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


def test_wgan_gp_refuses_a_cuda_graph_it_could_not_replay():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"].update(preset="pytorch-wgan-gp", cuda_graph=True)
    with pytest.raises(
        config.ConfigError, match=r"runs\.a\.cuda_graph: preset 'pytorch-wgan-gp' updates its generator"
    ):
        config.check_config(cfg)


def test_run_overrides_win_over_preset_defaults():
    cfg = copy.deepcopy(GOOD)
    cfg["runs"]["a"].update(batch_size=32, lr_g=0.01, seed=9)
    run = config.resolve_run(cfg, "a")
    preset = presets.PRESETS["pytorch-gan"]
    assert (run["batch_size"], run["lr_g"], run["seed"], run["epochs"]) == (32, 0.01, 9, 3)
    assert (run["lr_d"], run["latent_dim"], run["checkpoint_every"], run["device"]) == (preset.lr_d, 100, 1, "auto")


def test_checkpoint_epochs_always_include_the_last():
    assert config.checkpoint_epochs({"epochs": 7, "checkpoint_every": 3}) == [3, 6, 7]
    assert config.checkpoint_epochs({"epochs": 6, "checkpoint_every": 3}) == [3, 6]


def test_presets_reproduce_their_references():
    gan, dcgan, vae = (presets.PRESETS[n] for n in ("pytorch-gan", "tf-dcgan", "dlwp-vae"))
    assert (gan.lr_g, gan.betas, gan.batch_size, gan.latent_dim, gan.d_loss_scale) == (2e-4, (0.5, 0.999), 64, 100, 0.5)
    assert (dcgan.lr_g, dcgan.betas, dcgan.adam_eps, dcgan.batch_size, dcgan.n_fixed) == (
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

    assert names("rendering") == {"__init__.py", "io.py", "rendering.py"}
    training = names("training")
    assert {"losses.py", "data.py", "models/__init__.py", "models/tf_dcgan.py", "models/keras_layers.py"} <= training
    assert "rendering.py" not in training and "evaluation.py" not in training
    assert names("evaluation") >= training
    classifier = names("classifier")
    assert "models/__init__.py" not in classifier and "training.py" not in classifier


def test_code_dependencies_reject_unknown_modules():
    with pytest.raises(ValueError, match="no module"):
        codedeps.module_closure("nonexistent")
