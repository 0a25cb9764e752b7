import json
import math
import re
from pathlib import Path

# The Snakefile has put the shared package (workflow/genzoo) on sys.path.
from genzoo import config as genzoo_config
from genzoo import frames, gpus, models, schedule
from genzoo.codedeps import module_closure
from genzoo.fingerprints import fingerprint, fingerprint_params
from genzoo.sources import pinned_content
from snakemake.exceptions import WorkflowError

for configfile_path in dict.fromkeys(map(str, workflow.configfiles)):
    if Path(configfile_path).exists() and (twice := genzoo_config.duplicate_keys(configfile_path)):
        raise WorkflowError(
            f"invalid config: {configfile_path} sets {', '.join(twice)} twice; YAML would keep the last"
        )

try:
    genzoo_config.check_config(config)
except genzoo_config.ConfigError as error:
    raise WorkflowError(f"invalid config: {error}") from None

# cuda_graph: auto gives graphs to device: auto runs when this machine, which runs local jobs, has a GPU.
RUNS = genzoo_config.resolve_runs(config, gpu_here=bool(gpus.visible_gpus()))
RUN_GROUPS = genzoo_config.run_groups(config)
SCRIPTS_DIR = Path(workflow.current_basedir).parent / "scripts"


def one_of(names):
    """A wildcard constraint matching exactly these names (none: nothing)."""
    return "|".join(map(re.escape, names)) or "(?!)"


# The two rules that make a dataset's classifier: pinned_classifier for the datasets that pin one
# (datasets.<name>.classifier), train_classifier for the others.
PINNED_DATASETS = one_of(name for name, dataset in config["datasets"].items() if "classifier" in dataset)
TRAINED_DATASETS = one_of(name for name, dataset in config["datasets"].items() if "classifier" not in dataset)


wildcard_constraints:
    dataset=one_of(config["datasets"]),
    run=one_of(RUNS),
    epoch=r"\d\d\d\d+",  # four digits at least, as schedule.epoch_tag writes (\d{4,} trips Snakemake's parser)
    n=r"\d+",
    seed=r"\d+",


def package_code(script, *modules):
    """The code a rule's job runs, as params: its own script (e.g. 'train.py'), the scripts' common setup, and the
    package files of the modules its work lies in, with everything they import, read from their `import` statements.
    One param per file, valued by the file's content hash: editing one reruns the rule (Snakemake's params trigger),
    the rerun's reason names the file ("before: 'genzoo/training.py=3fa2c1d0e4b5' now: ..."), and the job lists its
    data alone. By content, not by time: the profiles leave out Snakemake's `code` trigger, which judges a script by
    its modification time, so a fresh clone pointed at earlier results would rerun everything."""
    own = [SCRIPTS_DIR / script, SCRIPTS_DIR / "script_setup.py"]
    return fingerprint_params([str(path) for path in own] + module_closure(*modules))


def run_code(script, *modules):
    """package_code of the script and modules, plus one param for the run's own architecture (its module and what
    that imports beyond the rest): a job that builds a run's networks depends on that one model file, so editing
    another model, or adding one, reruns nothing of this run."""
    shared = set(module_closure(*modules))

    def architecture_code(wildcards):
        own = module_closure(models.module_of(RUNS[wildcards.run]["architecture"]))
        return " ".join(fingerprint(path) for path in own if path not in shared)

    return package_code(script, *modules) | {"code__architecture": architecture_code}


def setting_params(name, settings_of, keys):
    """Settings as one param each, named <name>__<key> and valued 'key=<JSON>' (genzoo.config.settings_from_params
    reads them back): Snakemake tells a changed param by its values alone, so a rerun's reason then reads
    "before: 'lr_g=0.0002' now: 'lr_g=0.001'" instead of two whole dicts. settings_of maps wildcards to the settings."""
    return {
        f"{name}__{key}": (lambda wildcards, key=key: f"{key}={json.dumps(settings_of(wildcards)[key])}")
        for key in keys
    }


def section_settings(section):
    """A config section as params (setting_params), named settings__<key>."""
    return setting_params("settings", lambda wildcards: config[section], sorted(config[section]))


def used_datasets():
    """The datasets some run trains on, in config order (a dataset no selected run uses gets no classifier)."""
    used = {run["dataset"] for run in RUNS.values()}
    return [name for name in config["datasets"] if name in used]


def scoring_mem_mb():
    """Memory of a scoring job: about three n x n float64 distance matrices (n = evaluation.n_samples) at its peak,
    on top of torch and the data (3.2 GB measured at n = 10,000)."""
    n = config["evaluation"]["n_samples"]
    return 1000 + math.ceil(3 * 8 * n * n / 1e6)


def run_dataset(wildcards):
    return RUNS[wildcards.run]["dataset"]


def dataset_file(name):
    return lambda wildcards: f"results/data/{run_dataset(wildcards)}/{name}"


def classifier_file(name):
    return lambda wildcards: f"results/classifiers/{run_dataset(wildcards)}/{name}"


def gpus_for_run(wildcards):
    """One GPU for a run that asks for device: cuda, so schedulers neither oversubscribe a GPU nor place the run
    on a node without one; a device: auto run reserves none and uses a GPU where it finds one."""
    return int(RUNS[wildcards.run]["device"] == "cuda")


def frame_epochs(run):
    """The epochs a run's sample grid (and a VAE's manifold) is drawn for (render.frame_schedule)."""
    return frames.frame_epochs(RUNS[run]["epochs"], config["render"])


def frame_tags(run):
    return [schedule.epoch_tag(epoch) for epoch in frame_epochs(run)]


GENERATOR_KEYS = (  # what rebuilding and sampling a run's generator needs, and nothing else
    "name",
    "kind",
    "architecture",
    "latent_dim",
    "noise",
    "pixel_range",
    "image_size",
    "conditional",
    "vae_epsilon_scale",
    "ema",
    "n_fixed",
    "epochs",
    "checkpoint_every",
)


def frame_paths(wildcards):
    return expand("results/runs/{run}/frames/epoch_{epoch}.png", run=wildcards.run, epoch=frame_tags(wildcards.run))


def final_frame(wildcards):
    return f"results/runs/{wildcards.run}/frames/epoch_{frame_tags(wildcards.run)[-1]}.png"


def manifold_animation(wildcards):
    """The VAE's latent-manifold GIF, for runs that have one; nothing for the others."""
    if schedule.has_latent_manifold(RUNS[wildcards.run]):
        return [f"results/runs/{wildcards.run}/manifold.gif"]
    return []


def run_targets(run):
    targets = [
        f"results/runs/{run}/samples.gif",
        f"results/runs/{run}/metrics.csv",
        f"results/runs/{run}/losses.png",
        f"results/runs/{run}/page.html",
    ]
    if schedule.has_latent_manifold(RUNS[run]):
        targets += [f"results/runs/{run}/manifold.png", f"results/runs/{run}/manifold.gif"]
    if config["runs"][RUN_GROUPS[run]].get("interpolation", False):  # read here: no training setting
        targets.append(f"results/runs/{run}/interpolation.gif")
    return targets


def all_targets():
    return (
        [target for run in RUNS for target in run_targets(run)]
        + list(rules.summary.output)
        + [rules.leaderboard_page.output[0]]
    )
