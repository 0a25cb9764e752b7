"""Turns the validated config into resolved runs and target lists. Pure Python (no torch)."""

from .presets import PRESETS

RUN_OVERRIDES = (
    "epochs",
    "batch_size",
    "lr_g",
    "lr_d",
    "betas",
    "latent_dim",
    "seed",
    "checkpoint_every",
    "device",
    "precision",
    "compile",
    "cuda_graph",
)
RUN_DEFAULTS = {
    "seed": 0,
    "checkpoint_every": 1,
    "device": "auto",
    "precision": "fp32",
    "compile": False,
    "cuda_graph": False,
}


class ConfigError(ValueError):
    """A config problem, named by its key path (e.g. runs.my-run.preset)."""


def check_config(config: dict) -> None:
    """Cross-key checks the JSON schema cannot express."""
    datasets = config.get("datasets") or {}
    for name, run in (config.get("runs") or {}).items():
        key = f"runs.{name}"
        if run["preset"] not in PRESETS:
            raise ConfigError(f"{key}.preset: unknown preset {run['preset']!r}; known presets: {', '.join(PRESETS)}")
        if run["dataset"] not in datasets:
            known = ", ".join(datasets) or "none"
            raise ConfigError(f"{key}.dataset: {run['dataset']!r} is not listed under datasets (listed: {known})")
        preset = PRESETS[run["preset"]]
        if preset.kind == "vae" and "lr_d" in run:
            raise ConfigError(f"{key}.lr_d: preset {preset.name!r} is a VAE and has no discriminator; set lr_g")
        if preset.conditional and run.get("cuda_graph"):
            raise ConfigError(f"{key}.cuda_graph: conditional preset {preset.name!r} cannot replay a CUDA graph yet")
        if preset.update_order == "critic" and run.get("cuda_graph"):
            raise ConfigError(
                f"{key}.cuda_graph: preset {preset.name!r} updates its generator on every {preset.n_critic}th batch "
                "only, which one captured CUDA graph cannot replay; set cuda_graph: false"
            )


def resolve_run(config: dict, name: str) -> dict:
    """The run's full settings: its preset's defaults, overridden by what the run sets."""
    run = config["runs"][name]
    preset = PRESETS[run["preset"]]
    settings = {key: value for key, value in preset.as_dict().items() if key not in ("name", "notes")}
    settings["betas"] = list(settings["betas"])
    settings |= RUN_DEFAULTS
    settings |= {key: run[key] for key in RUN_OVERRIDES if key in run}
    return {"name": name, "dataset": run["dataset"], "preset": preset.name, **settings}


def epochs(run: dict) -> list[int]:
    return list(range(1, run["epochs"] + 1))


def checkpoint_epochs(run: dict) -> list[int]:
    """Every checkpoint_every-th epoch, and always the last one."""
    every, last = run["checkpoint_every"], run["epochs"]
    return [epoch for epoch in epochs(run) if epoch % every == 0 or epoch == last]


def epoch_tag(epoch: int) -> str:
    return f"{epoch:04d}"


def has_latent_manifold(run: dict) -> bool:
    return run["kind"] == "vae" and run["latent_dim"] == 2
