"""Samples from any saved checkpoint of a finished run: a rule target (results/runs/<run>/samples_<n>_seed<s>.png)
and a command, which draw the same images for the same checkpoint, seed and labels:

    PYTHONPATH=workflow python -m genzoo sample results/runs/<run> --n 64 --seed 0 --out samples.png

And walks through the latent space between fixed noise points (results/runs/<run>/interpolation.gif).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from . import data, evaluation, files, rendering, runtime, sampling
from .schedule import checkpoint_epochs, checkpoint_file


class SampleError(ValueError):
    """A request the run cannot serve: no such checkpoint, labels for an unconditional run, ..."""


def run_settings(run_dir: str | Path) -> dict:
    """The run's resolved settings, as its training recorded them in train_info.json."""
    info = Path(run_dir) / "train_info.json"
    if not info.is_file():
        raise SampleError(f"{info} is missing: {run_dir} is not a finished run's folder (results/runs/<run>)")
    return json.loads(info.read_text())["run"]


def checkpoint_path(run_dir: str | Path, run: dict, epoch: int) -> Path:
    """The checkpoint of the epoch asked for, if the run saved one."""
    saved = checkpoint_epochs(run)
    if epoch not in saved:
        raise SampleError(f"run {run['name']} saved no checkpoint at epoch {epoch}; it saved epochs {saved}")
    path = Path(run_dir) / "checkpoints" / checkpoint_file(epoch)
    if not path.is_file():
        raise SampleError(f"{path} is missing; snakemake remakes it with the run's train job")
    return path


def check_count(n: int) -> None:
    if n < 1:
        raise SampleError(f"ask for at least one sample (got {n})")


def draw_labels(run: dict, n: int, labels: list[int] | None) -> torch.Tensor | None:
    """The class of each sample of a conditional run: the ones asked for, or every class in turn."""
    if not run["conditional"]:
        if labels:
            raise SampleError(f"run {run['name']} ({run['preset']}) is not conditional: it takes no --labels")
        return None
    if not labels:
        return sampling.cycled_labels(run, n)
    if len(labels) != n or not all(0 <= label < data.NUM_CLASSES for label in labels):
        raise SampleError(f"--labels: give {n} labels, each 0 to {data.NUM_CLASSES - 1}; got {labels}")
    return torch.tensor(labels)


@torch.no_grad()
def draw(run: dict, checkpoint: str | Path, n: int, seed: int, labels: list[int] | None = None) -> np.ndarray:
    """n samples (N, H, W uint8) from the checkpoint's generator, on the CPU, from noise seeded by seed (drawn in
    batches, so that many samples fit in memory)."""
    check_count(n)
    classes = draw_labels(run, n, labels)
    generator = evaluation.load_generator(run, checkpoint)
    noise = sampling.sample_noise(n, run, torch.device("cpu"), torch.Generator().manual_seed(seed))
    return sampling.to_uint8(evaluation.generate_in_batches(generator, noise, classes), run["pixel_range"])


def save(images: np.ndarray, out_path: str | Path, title: str, scale: int) -> None:
    """A titled grid (.png) or the raw uint8 array (.npy)."""
    if str(out_path).endswith(".npy"):
        files.save_npy(out_path, images)
    else:
        rendering.save_png(rendering.with_header(rendering.tile(images), title, scale), out_path)


def sample_run(
    run_dir: str | Path,
    out_path: str | Path,
    n: int,
    seed: int,
    epoch: int | None = None,
    labels: list[int] | None = None,
    scale: int = 3,
    threads: int = 1,
) -> None:
    """n samples of a finished run's checkpoint at epoch (its last when None), drawn from noise seeded by seed (with
    the thread count the rule gives, since sums split over other thread counts may round differently)."""
    runtime.configure_torch(torch.device("cpu"), threads)
    run = run_settings(run_dir)
    epoch = checkpoint_epochs(run)[-1] if epoch is None else epoch
    title = f"{run['name']} ({run['preset']}){rendering.WHEN_GAP}epoch {epoch}, seed {seed}"
    save(draw(run, checkpoint_path(run_dir, run, epoch), n, seed, labels), out_path, title, scale)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between rows of a and b: the direction turns along the great circle while the length
    goes straight from |a| to |b|. For normal noise the points along the way keep the norm a draw has, where a
    straight line would pass through the unlikely middle; and nearly opposite points (common in 2-D) stay between
    their norms, where the unit-vector formula would shoot far out."""
    norm_a, norm_b = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    unit_a, unit_b = a / norm_a.clamp_min(1e-12), b / norm_b.clamp_min(1e-12)
    omega = torch.arccos((unit_a * unit_b).sum(dim=1, keepdim=True).clamp(-1, 1))
    sine = torch.sin(omega)
    turned = (torch.sin((1 - t) * omega) * unit_a + torch.sin(t * omega) * unit_b) / sine.clamp_min(1e-8)
    direction = torch.where(sine > 1e-6, turned, (1 - t) * unit_a + t * unit_b)
    return direction * ((1 - t) * norm_a + t * norm_b)


def latent_walk(run: dict, cells: int, points: int, frames_per_leg: int, seed: int) -> torch.Tensor:
    """(points * frames_per_leg, cells, latent_dim): each cell walks through its own `points` noise draws and back to
    the first, so the animation loops; slerp for normal noise, a straight line for uniform noise (which keeps it
    inside the box it is drawn from)."""
    keys = sampling.sample_noise(cells * points, run, torch.device("cpu"), torch.Generator().manual_seed(seed))
    keys = keys.view(points, cells, run["latent_dim"])
    frames = []
    for leg in range(points):
        start, end = keys[leg], keys[(leg + 1) % points]
        for step in range(frames_per_leg):
            t = step / frames_per_leg
            frames.append(slerp(start, end, t) if run["noise"] == "normal" else (1 - t) * start + t * end)
    return torch.stack(frames)


@torch.no_grad()
def interpolation_frames(
    run: dict, checkpoint: str | Path, cells: int = 16, points: int = 4, frames_per_leg: int = 12, seed: int = 0
) -> np.ndarray:
    """(frames, H', W') uint8 grids of the generator's images along latent_walk (a conditional preset keeps each
    cell's class: every class in turn)."""
    generator = evaluation.load_generator(run, checkpoint)
    labels = sampling.cycled_labels(run, cells)
    walk = latent_walk(run, cells, points, frames_per_leg, seed)
    images = [sampling.to_uint8(sampling.generate(generator, noise, labels), run["pixel_range"]) for noise in walk]
    return np.stack([rendering.tile(grid) for grid in images])


def walk_title(name: str, epoch: int) -> str:
    """The epoch after rendering's WHEN_GAP, so a frame too narrow for a long name cuts the name, never the epoch."""
    return f"{name}: latent walk{rendering.WHEN_GAP}epoch {epoch}"


def interpolation_gif(
    run_dir: str | Path, out_path: str | Path, frame_ms: int, scale: int, seed: int = 0, threads: int = 1
) -> None:
    """The run's last checkpoint walked through its latent space, as a looping GIF."""
    runtime.configure_torch(torch.device("cpu"), threads)
    run = run_settings(run_dir)
    epoch = checkpoint_epochs(run)[-1]
    frames = interpolation_frames(run, checkpoint_path(run_dir, run, epoch), seed=seed)
    title = walk_title(run["name"], epoch)
    titled = np.stack([np.asarray(rendering.with_header(frame, title, scale)) for frame in frames])
    rendering.write_gif(titled, out_path, frame_ms, frame_ms)


def label_list(text: str) -> list[int]:
    try:
        return [int(label) for label in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of class numbers: {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m genzoo sample", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a finished run's folder, results/runs/<run>")
    parser.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument("--epoch", type=int, help="a saved checkpoint's epoch (default: the last)")
    parser.add_argument(
        "--labels", type=label_list, help="a conditional run's classes, one per sample, comma-separated (0,1,7)"
    )
    parser.add_argument("--scale", type=int, default=3, help="pixels per image pixel in the PNG (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads, as training.threads (default 1)")
    parser.add_argument("--out", required=True, help="where to write: .png (a titled grid) or .npy (uint8 array)")
    args = parser.parse_args(argv)
    try:
        sample_run(args.run_dir, args.out, args.n, args.seed, args.epoch, args.labels, args.scale, args.threads)
    except (SampleError, files.CheckpointError, OSError) as error:  # OSError: a checkpoint that cannot be read
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    print(f"{args.out}: {args.n} samples of {args.run_dir}, seed {args.seed}")
