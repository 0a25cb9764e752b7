"""Which epochs a run leaves files for, and how they are named. Pure Python, and apart from the preset
registry on purpose: training and scoring import it, so the registry stays out of their code inputs."""

import math


def checkpoint_epochs(run: dict) -> list[int]:
    """Every checkpoint_every-th epoch, and always the last one."""
    every, last = run["checkpoint_every"], run["epochs"]
    return [epoch for epoch in range(1, last + 1) if epoch % every == 0 or epoch == last]


def even_frame_epochs(epochs: int, max_frames: int) -> list[int]:
    """About max_frames epochs, evenly spaced (every ceil(epochs / max_frames)-th), and always the last."""
    stride = math.ceil(epochs / max_frames)
    return checkpoint_epochs({"epochs": epochs, "checkpoint_every": stride})


def sqrt_frame_epochs(epochs: int) -> list[int]:
    """The TensorFlow DCGAN tutorial's GIF (its 2019-2020 edition): of the sorted epoch images, the i-th (from 0) is
    kept where round(2 * sqrt(i)) grows, and the last image is appended after the loop."""
    kept, last = [], -1.0
    for index in range(epochs):
        frame = 2 * math.sqrt(index)
        if round(frame) > round(last):
            last = frame
            kept.append(index + 1)
    return kept if kept[-1] == epochs else [*kept, epochs]


def frame_epochs(epochs: int, render: dict) -> list[int]:
    """The epochs a run's sample grid (and a VAE's manifold) is drawn for, by the render section's frame_schedule."""
    if render["frame_schedule"] == "sqrt":
        return sqrt_frame_epochs(epochs)
    return even_frame_epochs(epochs, render["max_frames"])


def epoch_tag(epoch: int) -> str:
    return f"{epoch:04d}"


def has_latent_manifold(run: dict) -> bool:
    """A VAE with a 2-d latent space also draws its decoder over a grid of that space, every epoch."""
    return run["kind"] == "vae" and run["latent_dim"] == 2


def checkpoint_file(epoch: int) -> str:
    return f"epoch_{epoch_tag(epoch)}.pt"


def sample_file(epoch: int) -> str:
    return f"epoch_{epoch_tag(epoch)}.npy"


def metrics_file(epoch: int) -> str:
    return f"epoch_{epoch_tag(epoch)}.json"


def manifold_file(epoch: int) -> str:
    return f"manifold_{epoch_tag(epoch)}.npy"


def training_files(run: dict) -> dict[str, list[str]]:
    """The files a finished run leaves in each of its output folders: a checkpoint at each checkpoint epoch, the
    fixed-noise samples (and a 2-d VAE's manifold) of every epoch."""
    every_epoch = range(1, run["epochs"] + 1)
    samples = [sample_file(epoch) for epoch in every_epoch]
    if has_latent_manifold(run):
        samples += [manifold_file(epoch) for epoch in every_epoch]
    return {"checkpoints": [checkpoint_file(epoch) for epoch in checkpoint_epochs(run)], "samples": samples}
