"""What a generator is fed and what it gives back: the presets' noise, class labels, the VAE's latent sample
and its manifold grid, and images made in inference mode, as uint8 for rendering."""

import torch

from . import data

MANIFOLD_SIZE = 15  # Deep Learning with Python's 15 x 15 grid on the normal quantiles


def sample_noise(n: int, run: dict, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """The preset's noise. With a (CPU) generator: drawn on the CPU, then moved, so it is the same on any device."""
    shape = (n, run["latent_dim"])
    where = "cpu" if generator is not None else device
    if run["noise"] == "uniform":
        noise = torch.rand(shape, generator=generator, device=where) * 2 - 1
    else:
        noise = torch.randn(shape, generator=generator, device=where)
    return noise.to(device)


def random_labels(n: int, device: torch.device) -> torch.Tensor:
    """Labels for a conditional preset's training fakes: drawn uniformly, as cgan.py does."""
    return torch.randint(0, data.NUM_CLASSES, (n,), device=device)


def fixed_labels(run: dict, device: torch.device) -> torch.Tensor | None:
    """A conditional preset's sample grid: one row per label (n_fixed / 10 columns); None otherwise."""
    if not run["conditional"]:
        return None
    return torch.arange(data.NUM_CLASSES, device=device).repeat_interleave(run["n_fixed"] // data.NUM_CLASSES)


def cycled_labels(run: dict, n: int) -> torch.Tensor | None:
    """What a conditional preset is asked for when scored: every class in turn (balanced); None for the others."""
    return torch.arange(n) % data.NUM_CLASSES if run["conditional"] else None


def latent_sample(
    z_mean: torch.Tensor, z_log_var: torch.Tensor, epsilon: torch.Tensor, epsilon_scale: str = "std"
) -> torch.Tensor:
    """The VAE's reparameterized draw z = mean + sigma * epsilon, epsilon ~ N(0, 1) of z_mean's shape, sigma =
    exp(log_var / 2); epsilon_scale "variance": exp(log_var), as Deep Learning with Python's first edition writes."""
    return z_mean + torch.exp(posterior_log_variance(z_log_var, epsilon_scale) / 2) * epsilon


def posterior_log_variance(z_log_var: torch.Tensor, epsilon_scale: str) -> torch.Tensor:
    """The log-variance of the draws latent_sample makes from the encoder's z_log_var: itself, or twice it when
    epsilon is scaled by exp(z_log_var), which is then a standard deviation."""
    return z_log_var if epsilon_scale == "std" else 2 * z_log_var


@torch.no_grad()
def generate(generator: torch.nn.Module, noise: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Generator output in inference mode (BatchNorm running stats, no dropout), as the references render."""
    was_training = generator.training
    generator.eval()
    try:
        return generator(noise) if labels is None else generator(noise, labels)
    finally:
        generator.train(was_training)


def to_uint8(images: torch.Tensor, pixel_range: str):
    """(N, 1, H, W) in the preset's range -> (N, H, W) uint8 numpy, for rendering without torch."""
    unit = data.to_unit_range(images.detach().float().cpu(), pixel_range)
    return (unit * 255).round().to(torch.uint8).squeeze(1).numpy()


def manifold_latents(size: int = MANIFOLD_SIZE) -> torch.Tensor:
    """Latent points on the normal quantiles q = Phi^-1(linspace(0.05, 0.95)), row by row: the cell in row i and
    column j is z = (q_j, q_i), as the book's loop `for i, yi in ...: for j, xi in ...: z_sample = [[xi, yi]]` fills
    figure[i, j]: z0 grows to the right, z1 downwards."""
    quantiles = torch.special.ndtri(torch.linspace(0.05, 0.95, size, dtype=torch.float64)).float()
    rows, cols = torch.meshgrid(quantiles, quantiles, indexing="ij")
    return torch.stack([cols.flatten(), rows.flatten()], dim=1)
