"""Which epochs a run leaves files for, and how they are named. Pure Python, and apart from the preset
registry on purpose: training and scoring import it, so the registry stays out of their code inputs."""


def checkpoint_epochs(run: dict) -> list[int]:
    """Every checkpoint_every-th epoch, and always the last one."""
    every, last = run["checkpoint_every"], run["epochs"]
    return [epoch for epoch in range(1, last + 1) if epoch % every == 0 or epoch == last]


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
