"""The update rules: one training step of each reference's order of updates, by the name presets give it."""

import torch

from . import cuda_graphs, losses, sampling


def uses_cuda_graph(run: dict, device: torch.device) -> bool:
    return device.type == "cuda" and run["cuda_graph"]


def autocast(run: dict, device: torch.device):
    """bf16 autocast for the forward passes when the run asks for it; losses are taken in fp32 outside it."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=run["precision"] == "bf16")


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on the loss's gradients (cleared first; the forward passes never touch them)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def generator_loss(run: dict, fake_logits: torch.Tensor) -> torch.Tensor:
    return losses.GAN_LOSSES[run["loss"]][0](fake_logits.float(), run["g_loss_scale"])


def discriminator_loss(run: dict, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return losses.GAN_LOSSES[run["loss"]][1](real_logits.float(), fake_logits.float(), run["d_loss_scale"])


def fake_count(run: dict, real: torch.Tensor) -> int:
    """How many fakes a step makes: as many as there are real images, or a full batch_size even for an epoch's
    short last batch, where the reference draws its noise with a fixed [BATCH_SIZE, noise_dim] shape."""
    return run["batch_size"] if run["full_fake_batch"] else real.shape[0]


def conditions(run: dict, labels, n: int, device: torch.device) -> tuple[tuple, tuple]:
    """Extra arguments of the networks for real and for generated images: none, or (labels,) for a
    conditional preset, whose fakes get labels drawn uniformly, as cgan.py does."""
    if not run["conditional"]:
        return (), ()
    return (labels,), (sampling.random_labels(n, device),)


def step_generator_first(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """PyTorch-GAN's order: update G on fresh fakes, then D on the same fakes, detached."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    noise = sampling.sample_noise(fake_count(run, real), run, device)
    real_args, fake_args = conditions(run, labels, len(noise), device)
    with autocast(run, device):
        fake = generator(noise, *fake_args)
        fake_logits = discriminator(fake, *fake_args)
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)

    with autocast(run, device):
        real_logits, fake_logits = discriminator(real, *real_args), discriminator(fake.detach(), *fake_args)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_simultaneous(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """The TF tutorial's train_step: one forward pass, both gradients taken before either update."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with autocast(run, device):
        fake = generator(sampling.sample_noise(fake_count(run, real), run, device))
        real_logits, fake_logits = discriminator(real), discriminator(fake)
    g_loss = generator_loss(run, fake_logits)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    g_params = list(generator.parameters())
    d_params = list(discriminator.parameters())
    g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
    d_grads = torch.autograd.grad(d_loss, d_params)
    for params, grads in ((g_params, g_grads), (d_params, d_grads)):
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad
    optimizers["generator"].step()
    optimizers["discriminator"].step()
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_discriminator_first(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """CS231n's and the TF1 GAN's order: update D on real and detached fakes, then G on fresh noise."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with torch.no_grad(), autocast(run, device):  # D's step needs no graph through G
        fake = generator(sampling.sample_noise(fake_count(run, real), run, device))
    with autocast(run, device):
        real_logits, fake_logits = discriminator(real), discriminator(fake)
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)

    with autocast(run, device):
        fake_logits = discriminator(generator(sampling.sample_noise(fake_count(run, real), run, device)))
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_discriminator_first_same_fake(
    nets, optimizers, real, run, device, index=0, labels=None
) -> dict[str, torch.Tensor]:
    """pytorch/examples' order: update D on real and detached fakes, then G through the updated D on the
    same fakes (G runs once per step)."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    with autocast(run, device):
        fake = generator(sampling.sample_noise(fake_count(run, real), run, device))
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = discriminator_loss(run, real_logits, fake_logits)
    descend(optimizers["discriminator"], d_loss)

    with autocast(run, device):
        fake_logits = discriminator(fake)
    g_loss = generator_loss(run, fake_logits)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_critic(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """PyTorch-GAN's WGAN-GP: a critic update on every batch, a generator update on every n_critic-th
    batch of the epoch (index 0, n_critic, ...) from the same noise. Its loss is logged on every batch:
    on the others, -E[D(G(z))] from the critic's forward pass, which is what G would have minimized."""
    generator, critic = nets["generator"], nets["discriminator"]
    noise = sampling.sample_noise(real.shape[0], run, device)
    with torch.no_grad(), autocast(run, device):  # the critic's step needs no graph through G
        fake = generator(noise)
    with autocast(run, device):
        # One critic pass over both halves: the critic has no batch statistics, and small steps pay per call.
        real_scores, fake_scores = critic(torch.cat([real, fake])).float().split(real.shape[0])
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=device)
    penalty = losses.gradient_penalty(critic, real, fake, alpha)
    d_loss = losses.wasserstein_critic_loss(real_scores, fake_scores) + run["gp_weight"] * penalty
    descend(optimizers["discriminator"], d_loss)

    if index % run["n_critic"] != 0:
        g_loss = losses.wasserstein_generator_loss(fake_scores.detach())
        return {"g_loss": g_loss, "d_loss": d_loss.detach(), "gradient_penalty": penalty.detach()}
    with autocast(run, device):
        fake_scores = critic(generator(noise)).float()
    g_loss = losses.wasserstein_generator_loss(fake_scores)
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach(), "gradient_penalty": penalty.detach()}


def step_keras_stacked(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    """Deep Learning with Python's GAN loop (1st ed., 8.5): D trains on generated and real images in one batch,
    labelled 1 (generated) and 0 (real) plus 0.05 * U(0, 1) label noise; then G trains through D (frozen, its
    dropout on, as in gan.train_on_batch) on fresh noise toward the label 0, 'real'. D's logit says 'generated'."""
    generator, discriminator = nets["generator"], nets["discriminator"]
    n = fake_count(run, real)
    with torch.no_grad(), autocast(run, device):  # generator.predict: no graph through G
        fake = generator(sampling.sample_noise(n, run, device))
    targets = torch.cat([torch.ones(n, 1, device=device), torch.zeros(real.shape[0], 1, device=device)])
    targets += 0.05 * torch.rand(targets.shape, device=device)
    with autocast(run, device):
        logits = discriminator(torch.cat([fake.to(real.dtype), real]))
    d_loss = losses.bce_with_targets(logits.float(), targets)
    descend(optimizers["discriminator"], d_loss)

    with autocast(run, device):
        fake_logits = discriminator(generator(sampling.sample_noise(n, run, device))).float()
    g_loss = losses.bce_with_targets(fake_logits, torch.zeros_like(fake_logits))
    descend(optimizers["generator"], g_loss)
    return {"g_loss": g_loss.detach(), "d_loss": d_loss.detach()}


def step_vae(nets, optimizers, real, run, device, index=0, labels=None) -> dict[str, torch.Tensor]:
    with autocast(run, device):
        z_mean, z_log_var = (t.float() for t in nets["encoder"](real))
    z = sampling.latent_sample(z_mean, z_log_var, torch.randn_like(z_mean), run["vae_epsilon_scale"])
    with autocast(run, device):
        reconstruction = nets["generator"](z).float()
    # Outside autocast: CUDA refuses binary_cross_entropy under it, and the ELBO sums in fp32.
    loss, recon_loss, kl = losses.VAE_LOSSES[run["vae_loss"]](reconstruction, real, z_mean, z_log_var)
    descend(optimizers["generator"], loss)
    return {"loss": loss.detach(), "reconstruction": recon_loss.detach(), "kl": kl.detach()}


STEPS = {
    "g_then_d": step_generator_first,
    "d_then_g": step_discriminator_first,
    "d_then_g_same_fake": step_discriminator_first_same_fake,
    "simultaneous": step_simultaneous,
    "critic": step_critic,
    "keras_stacked": step_keras_stacked,
    "vae": step_vae,
}


def critic_phase(run: dict, index: int) -> int:
    """1 on the batches where step_critic also updates the generator, 0 on the others."""
    return int(index % run["n_critic"] == 0)


PHASES = {"critic": critic_phase}  # steps whose work depends on the batch's index, by update order


def step_function(run: dict, device: torch.device):
    """The preset's step; on a GPU, replayed as CUDA graphs (one per phase) when the run sets cuda_graph: true."""
    step_fn = STEPS[run["update_order"]]
    if not uses_cuda_graph(run, device):
        return step_fn
    return cuda_graphs.GraphedStep(step_fn, phase=PHASES.get(run["update_order"], cuda_graphs.single_phase))
