"""Turns the validated config into resolved runs and target lists. Pure Python (no torch)."""

import json
from pathlib import Path

import yaml

from . import files
from .presets import PRESETS, Preset

RUN_OVERRIDES = (
    "epochs",
    "steps_per_epoch",
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
    "ema",
    "loss",
    "adam",
    "flush_denormal",
)
LOSS_STEPS = ("g_then_d", "d_then_g", "d_then_g_same_fake", "simultaneous")  # the update orders that take `loss`
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
WORKFLOW_ROOT = Path(__file__).resolve().parents[2]  # the folder holding workflow/ and config/


def schema_run_properties(schema_path: Path = SCHEMA) -> dict:
    schema = yaml.safe_load(schema_path.read_text())
    return schema["properties"]["runs"]["additionalProperties"]["properties"]


def schema_run_defaults(schema_path: Path = SCHEMA) -> dict:
    """The defaults of a run's own settings (seed, device, ...), as the config schema gives them: the one place
    they are written. Presets have no say in these; the schema's validation fills them into the config too."""
    return {key: spec["default"] for key, spec in schema_run_properties(schema_path).items() if "default" in spec}


RUN_DEFAULTS = schema_run_defaults()
MAX_EPOCHS = schema_run_properties()["epochs"]["maximum"]  # a budget in steps may not go past it either
# Every setting of a resolved run (resolve_run): what the train rule passes its script, one param each.
RUN_KEYS = ("name", "dataset", "preset", *(key for key in Preset.__dataclass_fields__ if key not in ("name", "notes")))
RUN_KEYS += tuple(key for key in RUN_DEFAULTS if key not in RUN_KEYS)


def settings_from_params(params, name: str) -> dict:
    """The settings a rule passed as params named <name>__<key>, each 'key=<JSON>' (see setting_params in
    workflow/rules/common.smk), back as one dict."""
    prefix = f"{name}__"
    return {
        key[len(prefix) :]: json.loads(value.partition("=")[2])
        for key, value in params.items()
        if key.startswith(prefix)
    }


def schema_errors(config: dict, schema_path: Path = SCHEMA) -> list[str]:
    """What is wrong with a config, one line per problem: the key path, the schema's message and the offending
    value, without the schema itself (Snakemake's own message prints all of it)."""
    import jsonschema

    schema = yaml.safe_load(schema_path.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)  # the draft the schema declares
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path)))
    return [f"{'.'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}" for error in errors]


class ConfigError(ValueError):
    """A config problem, named by its key path (e.g. runs.my-run.preset)."""


def duplicate_keys(path: str | Path) -> list[str]:
    """Keys that a YAML file sets twice in one mapping, with the line of the second (e.g. 'gan (line 4)'), which
    YAML loaders quietly resolve by keeping the last: two runs of one name would merge into one."""
    found = []

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges, it does not repeat a key
                continue
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                found.append((key_node.start_mark.line + 1, str(key)))
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        yaml.load(Path(path).read_text(), Loader=Loader)
    except yaml.YAMLError:  # what this loader cannot read (e.g. JSON indented with tabs), Snakemake's did
        return []
    return [f"{key} (line {line})" for line, key in found]


def check_config(config: dict) -> None:
    """Cross-key checks the JSON schema cannot express."""
    datasets = config.get("datasets") or {}
    evaluation = config.get("evaluation") or {}
    if evaluation.get("kid_subset_size", 0) > evaluation.get("n_samples", float("inf")):
        raise ConfigError(
            f"evaluation.kid_subset_size: {evaluation['kid_subset_size']} exceeds the {evaluation['n_samples']} images "
            "scored (evaluation.n_samples); set it to at most that"
        )
    for dataset in datasets:
        pinned_classifier(config, dataset)
    unknown = [entry for entry in config.get("select") or [] if entry not in (config.get("runs") or {})]
    if unknown:
        raise ConfigError(f"select: {', '.join(map(repr, unknown))} not listed under runs")
    for name, run in (config.get("runs") or {}).items():
        key = f"runs.{name}"
        if run["preset"] not in PRESETS:
            raise ConfigError(f"{key}.preset: unknown preset {run['preset']!r}; known presets: {', '.join(PRESETS)}")
        if run["dataset"] not in datasets:
            known = ", ".join(datasets) or "none"
            raise ConfigError(f"{key}.dataset: {run['dataset']!r} is not listed under datasets (listed: {known})")
        for seed in run.get("seeds", []):
            if seeded_name(name, seed) in config["runs"]:
                raise ConfigError(
                    f"{key}.seeds: seed {seed} makes a run named {seeded_name(name, seed)!r}, "
                    "which is also the name of another run; rename one of them"
                )
        preset = PRESETS[run["preset"]]
        check_step_budget(key, run, preset)
        if run.get("ema") is not None and (preset.kind == "vae" or run.get("compile") or run.get("cuda_graph") is True):
            why = f"preset {preset.name!r} is a VAE" if preset.kind == "vae" else "it compiles or graphs the steps"
            raise ConfigError(f"{key}.ema: a moving average of the generator is for eager GAN runs; {why}")
        if "loss" in run and preset.update_order not in LOSS_STEPS:
            raise ConfigError(
                f"{key}.loss: preset {preset.name!r} takes its own loss (update order {preset.update_order!r}); "
                "loss applies to the GANs whose discriminator gives one logit per image"
            )
        if "adam" in run and preset.optimizer != "adam":
            raise ConfigError(
                f"{key}.adam: preset {preset.name!r} trains with {preset.optimizer}, not Adam; adam applies to the "
                "presets that train with Adam"
            )
        if preset.kind == "vae" and "lr_d" in run:
            raise ConfigError(f"{key}.lr_d: preset {preset.name!r} is a VAE and has no discriminator; set lr_g")
        if run.get("cuda_graph") is True and (why := graph_obstacle(preset)):
            raise ConfigError(f"{key}.cuda_graph: {why}; set cuda_graph: auto or false")


def pinned_classifier(config: dict, dataset: str) -> Path | None:
    """The classifier file datasets.<dataset>.classifier pins, found under the working directory or, for a
    relative path, under the workflow's own folder (the one holding workflow/, where config/mnist.yaml's pins lie),
    and of the pinned SHA-256 (checked here too, so a wrong pin stops before any job); None when the dataset trains
    its own."""
    pin = config["datasets"][dataset].get("classifier")
    if pin is None:
        return None
    key = f"datasets.{dataset}.classifier"
    given = Path(pin["file"])
    candidates = [given] if given.is_absolute() else list(dict.fromkeys([Path.cwd() / given, WORKFLOW_ROOT / given]))
    found = next((candidate for candidate in candidates if candidate.is_file()), None)
    if found is None:
        raise ConfigError(
            f"{key}.file: no such file {pin['file']!r} (looked for {' and '.join(map(str, candidates))}); point it at "
            f"a classifier.pt this workflow trained, or remove {key} to train one"
        )
    if (sha256 := files.file_hash(found)) != pin["sha256"]:
        raise ConfigError(files.pin_mismatch(key, found, sha256, pin["sha256"]))
    return found


def graph_obstacle(preset: Preset) -> str | None:
    """Why one captured CUDA graph cannot replay a preset's training step, or None when it can."""
    if preset.optimizer == "rmsprop":
        return (
            f"preset {preset.name!r} decays its learning rate every step (Keras' RMSprop), which one captured CUDA "
            "graph cannot replay"
        )
    return None


def planned_cuda_graph(settings: dict, preset: Preset, gpu_here: bool) -> bool:
    """cuda_graph as the train job gets it. `auto` becomes true for a run that will train on a GPU (device cuda, or
    device auto when the machine that plans the workflow has one) and whose step graphs can replay (an eager moving
    average cannot ride along; compiled networks in a graph were never measured), and false otherwise: on a CPU it
    changes nothing, so a CPU run plans as before."""
    if settings["cuda_graph"] != "auto":
        return settings["cuda_graph"]
    on_gpu = settings["device"] == "cuda" or (settings["device"] == "auto" and gpu_here)
    eager_only = settings["ema"] is not None or settings["compile"]
    return on_gpu and not eager_only and graph_obstacle(preset) is None


def check_step_budget(key: str, run: dict, preset) -> None:
    if "steps" not in run:
        return
    if "epochs" in run:
        raise ConfigError(f"{key}: set epochs or steps, not both (steps = epochs x steps_per_epoch)")
    per_epoch = run.get("steps_per_epoch", preset.steps_per_epoch)
    if per_epoch is None:
        raise ConfigError(
            f"{key}.steps: a budget in steps needs steps_per_epoch (how many steps an epoch is: samples, checkpoints "
            f"and frames come per epoch); preset {preset.name!r} sets none"
        )
    if run["steps"] % per_epoch:
        raise ConfigError(f"{key}.steps: {run['steps']} is not a multiple of steps_per_epoch {per_epoch}")
    if run["steps"] // per_epoch > MAX_EPOCHS:
        raise ConfigError(
            f"{key}.steps: {run['steps']} steps of {per_epoch} an epoch are {run['steps'] // per_epoch} epochs, "
            f"more than the {MAX_EPOCHS} a run may have; raise steps_per_epoch"
        )


def resolve_run(config: dict, name: str, seed: int | None = None, gpu_here: bool = False) -> dict:
    """The run's full settings: its preset's defaults, overridden by what the run sets (and by seed, if given), with
    cuda_graph resolved for a machine with (gpu_here) or without a GPU."""
    run = config["runs"][name]
    preset = PRESETS[run["preset"]]
    settings = {key: value for key, value in preset.as_dict().items() if key not in ("name", "notes")}
    settings["betas"] = list(settings["betas"])
    settings |= RUN_DEFAULTS
    settings |= {key: run[key] for key in RUN_OVERRIDES if key in run}
    if "steps" in run:
        settings["epochs"] = run["steps"] // settings["steps_per_epoch"]
    if seed is not None:
        settings["seed"] = seed
    settings["cuda_graph"] = planned_cuda_graph(settings, preset, gpu_here)
    return {"name": name, "dataset": run["dataset"], "preset": preset.name, **settings}


def standalone_run(preset: str, name: str | None = None, dataset: str = "d", **settings) -> dict:
    """A run of one preset resolved as the workflow resolves a config entry, for code that trains or scores outside a
    workflow (tests, benchmarks): checked as a config is, named name (the preset's name by default)."""
    name = name or preset
    run = {"dataset": dataset, "preset": preset, **settings}
    cfg = {"datasets": {dataset: {"source": "mnist"}}, "runs": {name: run}}
    check_config(cfg)
    return resolve_run(cfg, name)


def seeded_name(entry: str, seed: int) -> str:
    return f"{entry}-seed{seed}"


def expanded_runs(config: dict) -> dict[str, tuple[str, int | None]]:
    """Every run to train -> (the config entry it comes from, its seed from `seeds`, or None). An entry with
    `seeds: [1, 2, 3]` becomes three runs, <entry>-seed1, -seed2 and -seed3, alike but for the seed (seeds wins over
    seed, so that an overlay config such as config/seeds.yaml repeats a configured run); an entry without `seeds` is
    one run. With `select`, only the entries it names are trained (a CPU machine can take the MLP runs of a GPU
    config)."""
    expanded = {}
    selected = config.get("select") or list(config["runs"])
    for entry, run in config["runs"].items():
        if entry not in selected:
            continue
        if "seeds" in run:
            expanded |= {seeded_name(entry, seed): (entry, seed) for seed in run["seeds"]}
        else:
            expanded[entry] = (entry, None)
    return expanded


def run_groups(config: dict) -> dict[str, str]:
    """Every run to train -> the config entry it comes from."""
    return {name: entry for name, (entry, _) in expanded_runs(config).items()}


def resolve_runs(config: dict, gpu_here: bool = False) -> dict[str, dict]:
    """Every run to train, by name, with its full settings (resolve_run)."""
    return {
        name: resolve_run(config, entry, seed, gpu_here) | {"name": name}
        for name, (entry, seed) in expanded_runs(config).items()
    }
