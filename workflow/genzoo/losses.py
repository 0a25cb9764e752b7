"""The loss family: small functions the presets combine."""

import torch
import torch.nn.functional as F


def nonsaturating_generator_loss(fake_logits: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """-E log D(G(z)): BCE of the fakes' logits against the 'real' label, times scale."""
    return scale * F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """BCE(real, 1) + BCE(fake, 0), times scale (0.5 averages the two terms, as PyTorch-GAN does)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return scale * (real + fake)


def summed_pixel_bce(reconstruction: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The pixel BCE summed over each image, averaged over the batch."""
    # On the sigmoid's output: PyTorch clamps its log at -100, where Keras >= 2.5 takes the BCE from the logits the
    # sigmoid caches (and Keras 2.0.8 clips at 1e-7); they differ only where the sigmoid saturates in float32.
    return F.binary_cross_entropy(reconstruction, images, reduction="sum") / images.shape[0]


def kl_terms(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image and latent dimension."""
    return -0.5 * (1 + z_log_var - z_mean.square() - z_log_var.exp())


def vae_elbo_loss(
    reconstruction: torch.Tensor, images: torch.Tensor, z_mean: torch.Tensor, z_log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO: per-image summed pixel BCE plus the KL summed over the latent dimensions, both averaged over
    the batch."""
    recon_loss = summed_pixel_bce(reconstruction, images)
    kl = kl_terms(z_mean, z_log_var).sum() / images.shape[0]
    return recon_loss + kl, recon_loss, kl


def dlwp2_vae_loss(
    reconstruction: torch.Tensor, images: torch.Tensor, z_mean: torch.Tensor, z_log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deep Learning with Python's second-edition VAE loss, as its train_step writes it: the pixel BCE summed per
    image and averaged over the batch, plus tf.reduce_mean(kl_loss), the KL's terms averaged over the batch and the
    latent dimensions alike. That is the negative ELBO with the KL divided by latent_dim (by 2 in the book)."""
    recon_loss = summed_pixel_bce(reconstruction, images)
    kl = kl_terms(z_mean, z_log_var).mean()
    return recon_loss + kl, recon_loss, kl


def bce_with_targets(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Keras' binary_crossentropy against any targets (noisy labels included), averaged, from logits: Keras 2.0.8
    takes the sigmoid's output and clips it to [1e-7, 1 - 1e-7], so it stops at a loss of about 16.1 where this goes
    on."""
    return F.binary_cross_entropy_with_logits(logits, targets)


KERAS2_EPSILON = 1e-7  # Keras 2's K.epsilon(), where its binary_crossentropy clips probabilities


def keras2_binary_crossentropy(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Keras 2.0.8's binary_crossentropy of probabilities, averaged: each clipped to [1e-7, 1 - 1e-7], turned back
    into a logit, and the cross-entropy taken from that. Past the clip a pixel's loss stops at about 16.1 and its
    gradient is zero, where BCELoss goes on to 100 with the full gradient: the first-edition VAE's exp(log_var)
    draw saturates its decoder now and then early on (a seed's third step, the check against Keras 2.0.8 found),
    and there the two train apart."""
    clipped = probs.clamp(KERAS2_EPSILON, 1 - KERAS2_EPSILON)
    return F.binary_cross_entropy_with_logits(torch.log(clipped / (1 - clipped)), targets)


def dlwp1_vae_loss(
    reconstruction: torch.Tensor, images: torch.Tensor, z_mean: torch.Tensor, z_log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Deep Learning with Python's first-edition VAE loss, as its CustomVariationalLayer writes it: Keras 2.0.8's
    clipped BCE (keras2_binary_crossentropy) averaged over every pixel of the batch, plus -5e-4 * mean over the
    latent dimensions of (1 + log_var - mean^2 - exp(log_var)), averaged over the batch. In the negative ELBO's
    units (BCE summed over 784 pixels, KL summed over the latent dimensions) that weighs the KL term 784 * 5e-4 * 2
    / latent_dim: 0.39 (the 2nd edition's loss weighs it 1 / latent_dim: 0.5, so the first edition's prior weighs
    0.78 of the second's)."""
    recon_loss = keras2_binary_crossentropy(reconstruction, images)
    kl = (-5e-4 * torch.mean(1 + z_log_var - z_mean.square() - z_log_var.exp(), dim=-1)).mean()
    return recon_loss + kl, recon_loss, kl


VAE_LOSSES = {"elbo": vae_elbo_loss, "dlwp2": dlwp2_vae_loss, "dlwp1": dlwp1_vae_loss}


def least_squares_generator_loss(fake_scores: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """LSGAN (Mao et al.): E[(D(G(z)) - 1)^2] on the raw scores, times scale (CS231n: 1/2; PyTorch-GAN: 1)."""
    return scale * (fake_scores - 1).square().mean()


def least_squares_discriminator_loss(
    real_scores: torch.Tensor, fake_scores: torch.Tensor, scale: float = 1.0
) -> torch.Tensor:
    """(E[(D(x) - 1)^2] + E[D(G(z))^2]) times scale (1/2 in both references)."""
    return scale * ((real_scores - 1).square().mean() + fake_scores.square().mean())


def probability_bce(probs: torch.Tensor, target: float) -> torch.Tensor:
    """BCELoss of probabilities against one target, NaN where a probability is NaN: BCELoss itself refuses NaN ("all
    elements of input should be between 0 and 1"; a device assert on a GPU), and a diverged discriminator should stop
    the run with the loop's named error instead. Value and gradient are BCELoss's, bit for bit, for any other input."""
    nan = probs.isnan()
    loss = F.binary_cross_entropy(probs.masked_fill(nan, 0.5), torch.full_like(probs, target))
    return torch.where(nan.any(), torch.full_like(loss, float("nan")), loss)


def sigmoid_bce_generator_loss(fake_logits: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """-E log D(G(z)) as PyTorch-GAN's scripts take it: Sigmoid, then BCELoss. The value of the logits form, but
    BCELoss clamps its log at -100 and its gradient's denominator at 1e-12, so where the discriminator saturates in
    float32 (for a target of 1 below a logit of about -27, for a target of 0 above about +17) the gradient vanishes,
    where the logits form keeps it."""
    return scale * probability_bce(torch.sigmoid(fake_logits), 1.0)


def sigmoid_bce_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, scale: float = 1.0
) -> torch.Tensor:
    """BCE(real, 1) + BCE(fake, 0) through Sigmoid and BCELoss, times scale (see sigmoid_bce_generator_loss)."""
    return scale * (probability_bce(torch.sigmoid(real_logits), 1.0) + probability_bce(torch.sigmoid(fake_logits), 0.0))


GAN_LOSSES = {
    "bce": (nonsaturating_generator_loss, bce_discriminator_loss),
    "bce_sigmoid": (sigmoid_bce_generator_loss, sigmoid_bce_discriminator_loss),
    "least_squares": (least_squares_generator_loss, least_squares_discriminator_loss),
}


def wasserstein_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """WGAN critic: E[D(G(z))] - E[D(x)] (the gradient penalty is added by the step)."""
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al.): E[(||grad D(x_hat)||_2 - 1)^2] at x_hat = alpha x + (1 - alpha) G(z).

    create_graph: the penalty is differentiated again, with respect to the critic's weights. The
    interpolates and the norms stay in fp32 even when the critic runs under autocast.
    """
    interpolates = (alpha * real.float() + (1 - alpha) * fake.float()).requires_grad_(True)
    scores = critic(interpolates).float()
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    return (gradients.flatten(1).norm(2, dim=1) - 1).square().mean()
