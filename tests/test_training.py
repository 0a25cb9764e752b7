import hashlib
import logging
import math
from importlib import metadata

import pandas as pd
import pytest
import torch
from conftest import resolved_run
from genzoo import config, data, files, losses, models, runtime, sampling, steps, training
from genzoo.presets import PRESETS


@pytest.fixture(scope="module")
def tiny_train(first_train_images):
    return first_train_images(96)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_one_step_changes_every_network(preset):
    run = resolved_run(preset)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    optimizers = training.make_optimizers(run, nets)
    before = {role: [p.detach().clone() for p in net.parameters()] for role, net in nets.items()}
    low, high = data.PIXEL_RANGES[run["pixel_range"]]
    real = torch.rand(8, 1, run["image_size"], run["image_size"]) * (high - low) + low
    labels = torch.randint(0, 10, (8,))  # only conditional presets use them
    step_losses = steps.STEPS[run["update_order"]](nets, optimizers, real, run, torch.device("cpu"), labels=labels)
    assert all(math.isfinite(float(v)) for v in step_losses.values())
    for role, net in nets.items():
        changed = [not torch.equal(old, new) for old, new in zip(before[role], net.parameters(), strict=True)]
        if run["loss"] == "wasserstein_gp" and role == "discriminator":
            assert not changed.pop()  # E[D(G(z))] - E[D(x)] and the penalty do not depend on the output bias
        assert all(changed), f"{preset}: some {role} parameters did not move"


def test_simultaneous_step_takes_both_gradients_before_either_update():
    """The TF tutorial computes both losses on one forward pass: D's update must not see G's new weights. Its noise
    is tf.random.normal([BATCH_SIZE, noise_dim]): a short last batch of 4 real images still meets 6 fakes."""
    run = resolved_run("tf-dcgan", batch_size=6)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    reference = {role: models.build(run["architecture"], run["latent_dim"]) for role in ("g", "d")}
    for copy in reference.values():
        for role, net in copy.items():
            net.load_state_dict(nets[role].state_dict())
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    steps.step_simultaneous(nets, training.make_optimizers(run, nets), real, run, torch.device("cpu"))

    # The same step by hand: gradients of both losses at the old weights, then Adam on each.
    torch.manual_seed(1)
    g, d = reference["g"]["generator"], reference["g"]["discriminator"]
    fake = g(sampling.sample_noise(6, run, torch.device("cpu")))
    real_logits, fake_logits = d(real), d(fake)
    d_loss = losses.bce_discriminator_loss(real_logits, fake_logits, run["d_loss_scale"])
    d_grads = torch.autograd.grad(d_loss, list(d.parameters()))
    for param, grad in zip(d.parameters(), d_grads, strict=True):
        param.grad = grad
    torch.optim.Adam(d.parameters(), lr=run["lr_d"], betas=tuple(run["betas"]), eps=run["optimizer_eps"]).step()
    for ours, expected in zip(nets["discriminator"].parameters(), d.parameters(), strict=True):
        torch.testing.assert_close(ours, expected)


@pytest.mark.parametrize(
    "preset,batch_size,fakes,eps",
    [
        ("cs231n-torch-lsgan", 128, 6, 1e-8),  # GANs-PyTorch: as many fakes as real images, torch.optim.Adam
        ("cs231n-lsgan", 8, 8, 1e-7),  # the TF edition: sample_noise(batch_size, ...) beside 6 real; Keras' Adam
    ],
)
def test_discriminator_first_step_updates_d_on_detached_fakes_then_g_on_fresh_noise(preset, batch_size, fakes, eps):
    """CS231n's order, replayed by hand from the same random state: the two updates must match exactly."""
    run = resolved_run(preset, batch_size=batch_size)
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    manual = models.build(run["architecture"], run["latent_dim"])
    for role, net in manual.items():
        net.load_state_dict(nets[role].state_dict())
    real = torch.rand(6, 1, 28, 28) * 2 - 1
    torch.manual_seed(1)
    steps.step_discriminator_first(nets, training.make_optimizers(run, nets), real, run, torch.device("cpu"))

    torch.manual_seed(1)
    g, d = manual["generator"], manual["discriminator"]
    adam = {role: torch.optim.Adam(manual[role].parameters(), lr=1e-3, betas=(0.5, 0.999), eps=eps) for role in manual}
    fake = g(torch.rand(fakes, 96) * 2 - 1).detach()
    (0.5 * (d(real) - 1).square().mean() + 0.5 * d(fake).square().mean()).backward()
    adam["discriminator"].step()
    adam["generator"].zero_grad()
    (0.5 * (d(g(torch.rand(fakes, 96) * 2 - 1)) - 1).square().mean()).backward()  # fresh noise, updated D
    adam["generator"].step()
    assert_same_parameters(nets, manual)


def stand_in_nets(latent_dim: int, pixels: int) -> tuple[dict, dict]:
    """Linear layers standing in for a generator and a discriminator (seeded), and a twin pair to replay by hand."""
    torch.manual_seed(0)
    nets = {"generator": torch.nn.Linear(latent_dim, pixels), "discriminator": torch.nn.Linear(pixels, 1)}
    manual = {role: torch.nn.Linear(net.in_features, net.out_features) for role, net in nets.items()}
    for role, net in manual.items():
        net.load_state_dict(nets[role].state_dict())
    return nets, manual


def assert_same_parameters(nets: dict, manual: dict) -> None:
    for role in nets:
        for ours, expected in zip(nets[role].parameters(), manual[role].parameters(), strict=True):
            torch.testing.assert_close(ours, expected)


def test_same_fake_step_updates_g_through_the_updated_d_on_the_fakes_d_saw():
    """pytorch/examples' order, replayed by hand with plain modules standing in for the networks."""
    run = resolved_run("examples-dcgan") | {"latent_dim": 3}
    nets, manual = stand_in_nets(3, 4)
    real = torch.randn(5, 4)
    torch.manual_seed(1)
    steps.step_discriminator_first_same_fake(nets, training.make_optimizers(run, nets), real, run, torch.device("cpu"))

    torch.manual_seed(1)
    g, d = manual["generator"], manual["discriminator"]
    adam = {role: torch.optim.Adam(manual[role].parameters(), lr=2e-4, betas=(0.5, 0.999)) for role in manual}
    fake = g(torch.randn(5, 3))
    losses.bce_discriminator_loss(d(real), d(fake.detach())).backward()
    adam["discriminator"].step()
    adam["generator"].zero_grad()
    losses.nonsaturating_generator_loss(d(fake)).backward()  # the same fakes, through the updated D
    adam["generator"].step()
    assert_same_parameters(nets, manual)


def test_a_conditional_preset_samples_one_row_per_label():
    run = resolved_run("pytorch-cgan")
    labels = sampling.fixed_labels(run, torch.device("cpu"))
    assert labels.tolist() == [label for label in range(10) for _ in range(10)]  # a 10 x 10 grid, row = label
    assert sampling.fixed_labels(resolved_run("pytorch-gan"), torch.device("cpu")) is None


def test_a_conditional_step_shows_the_discriminator_real_labels_and_drawn_ones():
    run = resolved_run("pytorch-cgan")
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    seen = []
    nets["discriminator"].register_forward_hook(lambda module, args, out: seen.append(args[1].clone()))
    real, labels = torch.rand(6, 1, 32, 32) * 2 - 1, torch.tensor([3, 3, 3, 7, 7, 7])
    steps.step_generator_first(nets, training.make_optimizers(run, nets), real, run, torch.device("cpu"), 0, labels)
    fake_for_g, real_for_d, fake_for_d = seen
    assert torch.equal(real_for_d, labels) and torch.equal(fake_for_g, fake_for_d)
    assert not torch.equal(fake_for_g, labels)  # uniformly drawn labels for the fakes


def test_gradient_penalty_vanishes_for_a_1_lipschitz_linear_critic_and_not_otherwise():
    real, fake = torch.randn(16, 1, 28, 28), torch.randn(16, 1, 28, 28)
    alpha = torch.rand(16, 1, 1, 1)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1))
    with torch.no_grad():
        critic[1].weight.copy_(torch.randn(1, 784))
        critic[1].weight.div_(critic[1].weight.norm())  # gradient norm 1 everywhere
    assert float(losses.gradient_penalty(critic, real, fake, alpha).detach()) == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        critic[1].weight.mul_(3.0)  # gradient norm 3: penalty (3 - 1)^2
    assert float(losses.gradient_penalty(critic, real, fake, alpha).detach()) == pytest.approx(4.0, rel=1e-5)
    curved = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    penalty = losses.gradient_penalty(curved, real, fake, alpha)
    penalty.backward()  # differentiable in the critic's weights, as the critic's update needs
    assert float(penalty.detach()) > 0 and curved[1].weight.grad.abs().sum() > 0


def test_wgan_gp_updates_the_generator_on_every_n_critic_th_batch_only():
    run = resolved_run("pytorch-wgan-gp")
    assert (run["n_critic"], run["gp_weight"], run["loss"]) == (5, 10.0, "wasserstein_gp")
    torch.manual_seed(0)
    nets = models.build(run["architecture"], run["latent_dim"])
    optimizers = training.make_optimizers(run, nets)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    moved = []
    for index in range(6):
        before = {role: [p.detach().clone() for p in net.parameters()] for role, net in nets.items()}
        step_losses = steps.step_critic(nets, optimizers, real, run, torch.device("cpu"), index)
        assert set(step_losses) == {"g_loss", "d_loss", "gradient_penalty"}
        moved.append({role: not torch.equal(before[role][0], next(nets[role].parameters())) for role in nets})
    assert [m["discriminator"] for m in moved] == [True] * 6
    assert [m["generator"] for m in moved] == [True, False, False, False, False, True]


def test_least_squares_losses_are_zero_at_their_targets_and_scale_as_the_references_do():
    ones, zeros = torch.ones(4, 1), torch.zeros(4, 1)
    assert float(losses.least_squares_generator_loss(ones)) == 0.0
    assert float(losses.least_squares_generator_loss(zeros)) == pytest.approx(1.0)  # PyTorch-GAN's MSE
    assert float(losses.least_squares_generator_loss(zeros, 0.5)) == pytest.approx(0.5)  # CS231n's 1/2
    assert float(losses.least_squares_discriminator_loss(ones, zeros)) == 0.0
    assert float(losses.least_squares_discriminator_loss(zeros, ones, 0.5)) == pytest.approx(1.0)
    cs231n, pytorch = resolved_run("cs231n-lsgan"), resolved_run("pytorch-lsgan")
    assert (cs231n["g_loss_scale"], cs231n["d_loss_scale"]) == (0.5, 0.5)
    assert (pytorch["g_loss_scale"], pytorch["d_loss_scale"]) == (1.0, 0.5)


def test_32px_presets_train_on_resized_digits():
    images = torch.rand(6, 1, 28, 28)
    assert data.resized(images, 28) is images
    bigger = data.resized(images, 32)
    assert bigger.shape == (6, 1, 32, 32) and bigger.min() >= 0 and bigger.max() <= 1
    torch.testing.assert_close(bigger.mean((1, 2, 3)), images.mean((1, 2, 3)), atol=0.02, rtol=0)
    assert resolved_run("pytorch-dcgan")["image_size"] == 32


def test_the_sigmoid_bce_loss_is_pytorch_gans_own_and_loses_its_gradient_where_the_logits_form_keeps_it():
    """PyTorch-GAN takes nn.Sigmoid then nn.BCELoss; bce_sigmoid is that, value and gradient, and differs from the
    logits form only where the discriminator saturates."""
    logits = torch.tensor([[-3.0], [0.5], [4.0], [-40.0]], requires_grad=True)
    reference = torch.nn.BCELoss()(torch.nn.Sigmoid()(logits), torch.ones(4, 1))
    (reference_grad,) = torch.autograd.grad(reference, logits)
    generator_loss, discriminator_loss = losses.GAN_LOSSES["bce_sigmoid"]
    ours = generator_loss(logits)
    (ours_grad,) = torch.autograd.grad(ours, logits)
    assert torch.equal(ours, reference) and torch.equal(ours_grad, reference_grad)
    (logits_grad,) = torch.autograd.grad(losses.nonsaturating_generator_loss(logits), logits)
    torch.testing.assert_close(ours_grad[:3], logits_grad[:3])  # unsaturated: the same gradient
    assert abs(float(logits_grad[3])) > 0.2 and abs(float(ours_grad[3])) < 1e-5  # saturated: all but gone
    real = torch.tensor([[2.0], [-1.0]])
    expected = torch.nn.BCELoss()(torch.sigmoid(real), torch.ones(2, 1)) + torch.nn.BCELoss()(
        torch.sigmoid(logits.detach()), torch.zeros(4, 1)
    )
    assert torch.equal(discriminator_loss(real, logits.detach(), 1.0), expected)


def test_a_nan_probability_gives_a_nan_bce_where_bceloss_would_refuse_it():
    probs = torch.tensor([0.25, float("nan"), 0.75], requires_grad=True)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(probs, torch.ones(3))
    loss = losses.probability_bce(probs, 1.0)
    assert torch.isnan(loss)
    finite = torch.tensor([0.25, 1e-30, 0.75], requires_grad=True)
    ours, theirs = losses.probability_bce(finite, 1.0), torch.nn.functional.binary_cross_entropy(finite, torch.ones(3))
    assert torch.equal(ours, theirs)
    (mine,) = torch.autograd.grad(ours, finite)
    (reference,) = torch.autograd.grad(theirs, finite)
    assert torch.equal(mine, reference)


@pytest.mark.parametrize(("adam", "fused"), [("fused", True), ("default", None)])
def test_a_runs_adam_setting_picks_the_implementation(adam, fused):
    run = resolved_run("pytorch-gan", adam=adam)
    optimizers = training.make_optimizers(run, training.build_nets(run, torch.device("cpu")))
    assert [optimizer.defaults["fused"] for optimizer in optimizers.values()] == [fused, fused]


@pytest.mark.parametrize("adam", ["fused", "default"])
def test_either_adam_counts_its_steps_on_the_device_when_a_cuda_graph_replays_them(adam, monkeypatch):
    monkeypatch.setattr(steps, "uses_cuda_graph", lambda run, device: True)
    run = resolved_run("pytorch-gan", adam=adam)
    optimizers = training.make_optimizers(run, training.build_nets(run, torch.device("cpu")))
    assert all(optimizer.defaults["capturable"] for optimizer in optimizers.values())


def sigmoid_bce(outputs, target):
    """The PyTorch references' discriminator output and loss: nn.Sigmoid as its last layer, then nn.BCELoss."""
    return torch.nn.BCELoss()(torch.sigmoid(outputs), torch.full_like(outputs, target))


def mse(outputs, target):
    return torch.nn.MSELoss()(outputs, torch.full_like(outputs, target))


def pytorch_gan_reference_step(generator, discriminator, opt_g, opt_d, real, z, criterion):
    """One iteration of PyTorch-GAN's gan.py, dcgan.py and lsgan.py as published: G steps first on fresh fakes, D
    then on the same fakes, detached, its loss the mean of the real and fake terms."""
    opt_g.zero_grad()
    gen_imgs = generator(z)
    g_loss = criterion(discriminator(gen_imgs), 1.0)
    g_loss.backward()
    opt_g.step()
    opt_d.zero_grad()
    real_loss = criterion(discriminator(real), 1.0)
    fake_loss = criterion(discriminator(gen_imgs.detach()), 0.0)
    d_loss = 0.5 * (real_loss + fake_loss)
    d_loss.backward()
    opt_d.step()
    return g_loss.detach(), d_loss.detach()


def pytorch_examples_reference_step(generator, discriminator, opt_g, opt_d, real, z, criterion):
    """One iteration of pytorch/examples' dcgan/main.py: D's real and fake terms backpropagated one after the other,
    D steps, then G through the updated D on the same fakes."""
    discriminator.zero_grad()
    err_real = criterion(discriminator(real), 1.0)
    err_real.backward()
    fake = generator(z)
    err_fake = criterion(discriminator(fake.detach()), 0.0)
    err_fake.backward()
    opt_d.step()
    generator.zero_grad()
    err_g = criterion(discriminator(fake), 1.0)
    err_g.backward()
    opt_g.step()
    return err_g.detach(), (err_real + err_fake).detach()


@pytest.mark.parametrize(
    ("preset", "loss", "reference_step", "criterion", "steps_taken"),
    [
        ("pytorch-gan", "bce_sigmoid", pytorch_gan_reference_step, sigmoid_bce, 30),
        ("pytorch-dcgan", "bce_sigmoid", pytorch_gan_reference_step, sigmoid_bce, 4),
        ("pytorch-lsgan", "least_squares", pytorch_gan_reference_step, mse, 4),
        ("examples-dcgan", "bce_sigmoid", pytorch_examples_reference_step, sigmoid_bce, 2),
    ],
)
def test_the_pytorch_presets_take_their_references_steps_bit_for_bit(
    preset, loss, reference_step, criterion, steps_taken, monkeypatch
):
    """From the same weights, on the same batches, noise and dropout masks, the preset's eager step (its loss and
    `adam: default`, torch's own pick) gives its reference script's losses and weights exactly, step after step:
    loss, order of updates and optimizer are the reference's."""
    import copy

    run = resolved_run(preset)
    assert (run["loss"], run["adam"]) == (loss, "default")
    torch.manual_seed(0)
    ours = training.build_nets(run, torch.device("cpu"))
    theirs = copy.deepcopy(ours)
    optimizers = training.make_optimizers(run, ours)
    opt_g = torch.optim.Adam(theirs["generator"].parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(theirs["discriminator"].parameters(), lr=2e-4, betas=(0.5, 0.999))
    noise = []
    monkeypatch.setattr(steps.sampling, "sample_noise", lambda n, run, device, generator=None: noise.pop(0))
    step = steps.step_function(run, torch.device("cpu"))
    batches = torch.Generator().manual_seed(1)
    size = run["image_size"]
    for _ in range(steps_taken):
        real = torch.rand(run["batch_size"], 1, size, size, generator=batches) * 2 - 1
        z = torch.randn(run["batch_size"], run["latent_dim"], generator=batches)
        noise.append(z)
        dropout = torch.get_rng_state()  # pytorch-dcgan's Dropout2d: the same masks for both
        taken = step(ours, optimizers, real, run, torch.device("cpu"))
        torch.set_rng_state(dropout)
        g_loss, d_loss = reference_step(theirs["generator"], theirs["discriminator"], opt_g, opt_d, real, z, criterion)
        assert torch.equal(taken["g_loss"], g_loss) and torch.equal(taken["d_loss"], d_loss)
    for role in ("generator", "discriminator"):
        for mine, reference in zip(ours[role].parameters(), theirs[role].parameters(), strict=True):
            assert torch.equal(mine, reference)


def test_vae_loss_is_summed_bce_plus_kl_averaged_over_the_batch():
    images = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(2, 1, 1, 2)
    reconstruction = torch.full_like(images, 0.5)
    z_mean, z_log_var = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2)
    total, bce, kl = losses.vae_elbo_loss(reconstruction, images, z_mean, z_log_var)
    assert float(bce) == pytest.approx(2 * math.log(2))  # two pixels of log 2 per image
    assert float(kl) == pytest.approx(0.25)  # 0.5 * mu^2 = 0.5 for image 1, 0 for image 2, batch mean
    assert float(total) == pytest.approx(2 * math.log(2) + 0.25)


def test_the_held_out_elbo_is_the_negative_elbo_bit_for_bit():
    # The held-out ELBO of every scored VAE checkpoint goes through vae_elbo_loss: its arithmetic may not move.
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(96, 1, 28, 28, generator=generator)
    reconstruction = torch.rand(96, 1, 28, 28, generator=generator).clamp(1e-3, 1 - 1e-3)
    z_mean, z_log_var = torch.randn(96, 2, generator=generator), torch.randn(96, 2, generator=generator)
    total, bce, kl = losses.vae_elbo_loss(reconstruction, images, z_mean, z_log_var)
    expected_bce = torch.nn.functional.binary_cross_entropy(reconstruction, images, reduction="sum") / 96
    expected_kl = -0.5 * torch.sum(1 + z_log_var - z_mean.square() - z_log_var.exp()) / 96
    assert torch.equal(bce, expected_bce) and torch.equal(kl, expected_kl) and torch.equal(total, bce + kl)


def test_the_second_editions_vae_loss_averages_the_kl_over_the_latent_dimensions_as_the_book_does():
    # Its train_step: total_loss = reconstruction_loss + tf.reduce_mean(kl_loss), kl_loss of shape (batch, latent).
    images = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(2, 1, 1, 2)
    reconstruction = torch.full_like(images, 0.5)
    z_mean, z_log_var = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2)
    total, bce, kl = losses.dlwp2_vae_loss(reconstruction, images, z_mean, z_log_var)
    assert float(bce) == pytest.approx(2 * math.log(2))  # the same summed pixel BCE as the ELBO's
    assert float(kl) == pytest.approx(0.125)  # 0.5 * mu^2 = 0.5 in one of four (image, dimension) entries
    assert float(total) == pytest.approx(2 * math.log(2) + 0.125)
    assert resolved_run("dlwp-vae")["vae_loss"] == "dlwp2"


def test_uniform_noise_stays_in_its_interval():
    run = {"latent_dim": 96, "noise": "uniform"}
    noise = sampling.sample_noise(1000, run, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert noise.min() >= -1 and noise.max() <= 1 and abs(float(noise.mean())) < 0.02


def test_cuda_request_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="device 'cuda' was requested but torch sees no CUDA GPU"):
        runtime.resolve_device("cuda")
    assert runtime.resolve_device("auto").type == "cpu"


CPU_CAN_FLUSH = torch.set_flush_denormal(False)  # whether this CPU can flush subnormal floats at all
# A training job of two threads in a fresh process, as the train rule starts one; then products that are subnormal
# (1e-40), computed by both threads, half each: how many the job's threads left nonzero.
TRAIN_THEN_MULTIPLY = """
import sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from genzoo import config, training
run = config.standalone_run(sys.argv[3], device="cpu", epochs=1, batch_size=32)
out = Path(sys.argv[4])
info = training.train(run, sys.argv[2], out / "c", out / "s", out / "steps.csv", out / "epochs.csv", out / "info.json",
                      resume_dir=out / "resume", threads=2)
print(info["subnormals_flushed"], int((torch.full((1_000_000,), 1e-30) * 1e-10 != 0).sum()))
"""


@pytest.mark.skipif(not CPU_CAN_FLUSH, reason="this CPU cannot flush subnormal floats")
@pytest.mark.parametrize("preset", ["tf-basic-gan", "pytorch-gan"])
def test_a_training_job_flushes_subnormals_in_every_thread_or_in_none(preset, repo, tiny_train, tmp_path):
    import subprocess
    import sys

    argv = [sys.executable, "-c", TRAIN_THEN_MULTIPLY, str(repo / "workflow"), str(tiny_train), preset, str(tmp_path)]
    flushed, nonzero = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
    # The TensorFlow preset's job: every product zero, the worker thread's half too; the PyTorch preset's: none.
    assert (flushed, int(nonzero)) == (("True", 0) if preset == "tf-basic-gan" else ("False", 1_000_000))


def train_tiny(run, train_path, out):
    return training.train(
        run,
        str(train_path),
        out / "ckpt",
        out / "samples",
        out / "steps.csv",
        out / "epochs.csv",
        out / "info.json",
        resume_dir=out / "resume",
    )


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "preset,batch_size",
    [("pytorch-gan", 32), ("dlwp-vae", 32), ("dlwp1-vae", 32), ("dlwp1-gan", 4)],  # the last: 7 s a step of 20
)
def test_training_writes_every_output_and_repeats_bit_for_bit(preset, batch_size, tiny_train, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    # Three steps an epoch: a pass of the 96 images at batch 32, or steps_per_epoch.
    run = resolved_run(preset, epochs=3, batch_size=batch_size, steps_per_epoch=3, checkpoint_every=2, seed=7)
    first, second = tmp_path / "first", tmp_path / "second"
    info = train_tiny(run, tiny_train, first)
    train_tiny(run, tiny_train, second)

    assert sorted(p.name for p in (first / "ckpt").iterdir()) == ["epoch_0002.pt", "epoch_0003.pt"]
    samples = sorted(p.name for p in (first / "samples").iterdir() if p.name.startswith("epoch_"))
    assert samples == ["epoch_0001.npy", "epoch_0002.npy", "epoch_0003.npy"]
    steps, epochs = pd.read_csv(first / "steps.csv"), pd.read_csv(first / "epochs.csv")
    assert len(steps) == 3 * 3 and list(epochs["epoch"]) == [1, 2, 3]
    assert info["run"]["seed"] == 7 and info["device"] == "cpu" and info["threads"] == 1
    # Subnormals flushed as the preset's framework does (TensorFlow's Keras presets), and the hardware named.
    flushed = preset != "pytorch-gan" and CPU_CAN_FLUSH
    assert info["subnormals_flushed"] is flushed and info["gpu"] is None
    assert info["cpu"] == files.cpu_description() and info["cpu"]["torch_capability"]
    assert info["hardware"] == [info["cpu"]["model"]] and set(epochs["hardware"]) == {info["cpu"]["model"]}
    assert (f"preset {preset} on cpu (fp32, subnormals flushed to zero)" in caplog.text) is flushed
    assert info["versions"]["torch"] == metadata.version("torch") and info["versions"]["python"]
    for name in ["ckpt/epoch_0003.pt", "samples/epoch_0003.npy", "steps.csv"]:
        assert digest(first / name) == digest(second / name), f"{name} differs between identical runs"
    checkpoint = files.load_torch(first / "ckpt" / "epoch_0003.pt")
    assert checkpoint["epoch"] == 3 and checkpoint["step"] == 9


def test_a_different_seed_gives_different_weights(tiny_train, tmp_path):
    a = resolved_run("pytorch-gan", epochs=1, batch_size=48, seed=1)
    b = resolved_run("pytorch-gan", epochs=1, batch_size=48, seed=2)
    train_tiny(a, tiny_train, tmp_path / "a")
    train_tiny(b, tiny_train, tmp_path / "b")
    assert digest(tmp_path / "a/ckpt/epoch_0001.pt") != digest(tmp_path / "b/ckpt/epoch_0001.pt")


def test_vae_writes_its_latent_manifold(tiny_train, tmp_path):
    import numpy as np

    train_tiny(resolved_run("dlwp-vae", epochs=1, batch_size=48), tiny_train, tmp_path)
    manifold = np.load(tmp_path / "samples" / "manifold_0001.npy")
    assert manifold.shape == (15, 15, 28, 28) and manifold.dtype == np.uint8


def test_a_nan_loss_stops_training_naming_run_epoch_and_step():
    losses = {"g_loss": torch.tensor([0.5, 0.4, float("nan")]), "d_loss": torch.tensor([0.7, 0.6, 0.5])}
    with pytest.raises(FloatingPointError, match=r"run r: g_loss is nan at epoch 4, step 33"):
        training.check_finite({"name": "r"}, 4, 30, losses)
    training.check_finite({"name": "r"}, 4, 30, {"d_loss": losses["d_loss"]})


def test_divergent_training_stops_with_a_named_error_and_no_provenance(tiny_train, tmp_path):
    run = resolved_run("pytorch-gan", epochs=3, batch_size=48)
    run["lr_g"] = run["lr_d"] = 1e30  # far beyond the schema's range, to force an overflow
    with pytest.raises(FloatingPointError, match=r"run r: \w+ is (nan|inf|-inf) at epoch \d+, step \d+"):
        train_tiny(run, tiny_train, tmp_path)
    assert not (tmp_path / "info.json").exists()


def conv_output_dtypes(net: torch.nn.Module) -> set[torch.dtype]:
    """Records the dtype each convolution or linear layer computes in, during the next forward pass."""
    seen = set()
    for module in net.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            module.register_forward_hook(lambda _m, _i, output: seen.add(output.dtype))
    return seen


def one_step_losses(run: dict, real: torch.Tensor) -> tuple[dict[str, float], set[torch.dtype]]:
    torch.manual_seed(0)
    nets = training.build_nets(run, torch.device("cpu"))
    dtypes = conv_output_dtypes(nets["generator"])
    cpu = torch.device("cpu")
    step_losses = steps.STEPS[run["update_order"]](nets, training.make_optimizers(run, nets), real, run, cpu)
    return {key: float(value) for key, value in step_losses.items()}, dtypes


@pytest.mark.parametrize("preset", ["tf-dcgan", "dlwp-vae"])
def test_bf16_runs_the_networks_in_bf16_and_stays_close_to_fp32(preset):
    run = resolved_run(preset)
    low, high = data.PIXEL_RANGES[run["pixel_range"]]
    real = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(3)) * (high - low) + low
    fp32, fp32_dtypes = one_step_losses(run, real)
    bf16, bf16_dtypes = one_step_losses(resolved_run(preset, precision="bf16"), real)
    assert fp32_dtypes == {torch.float32} and bf16_dtypes == {torch.bfloat16}
    assert fp32.keys() == bf16.keys()
    for key in fp32:
        assert math.isfinite(bf16[key]) and bf16[key] == pytest.approx(fp32[key], rel=0.05, abs=0.05), key
    assert any(bf16[key] != fp32[key] for key in fp32)


@pytest.mark.slow  # a minute of torch.compile
def test_compiled_networks_match_eager_ones_and_keep_their_checkpoint_keys():
    run, compiled_run = resolved_run("dlwp-vae"), resolved_run("dlwp-vae", compile=True)
    real = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    eager, _ = one_step_losses(run, real)
    compiled, _ = one_step_losses(compiled_run, real)
    assert compiled == pytest.approx(eager, rel=1e-4)
    plain = training.build_nets(run, torch.device("cpu"))
    for role, net in training.build_nets(compiled_run, torch.device("cpu")).items():
        assert list(net.state_dict()) == list(plain[role].state_dict())


def test_a_graphed_critic_step_keeps_one_graph_for_each_phase_of_its_updates():
    """WGAN-GP updates G on batches 0, n_critic, 2 n_critic, ... of an epoch: two phases, so two graphs."""
    run = resolved_run("pytorch-wgan-gp", device="cuda", cuda_graph=True)
    graphed = steps.step_function(run, torch.device("cuda"))  # wrapping touches no GPU
    assert graphed.step_fn is steps.step_critic
    assert [graphed.phase(run, index) for index in range(11)] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    plain = steps.step_function(resolved_run("pytorch-cgan", device="cuda", cuda_graph=True), torch.device("cuda"))
    assert {plain.phase(run, index) for index in range(11)} == {0}
    assert steps.step_function(run, torch.device("cpu")) is steps.step_critic  # no graphs off the GPU


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="the CUDA path needs a GPU")


@cuda
@pytest.mark.parametrize(
    "options", [{}, {"cuda_graph": True}, {"precision": "bf16"}, {"precision": "bf16", "compile": True}]
)
@pytest.mark.parametrize("preset", ["pytorch-gan", "tf-dcgan", "dlwp-vae"])
def test_cuda_training_writes_checkpoints_the_cpu_reproduces(preset, options, tiny_train, tmp_path):
    import numpy as np
    from genzoo import evaluation

    run = resolved_run(preset, epochs=2, batch_size=32, device="cuda", **options)
    info = train_tiny(run, tiny_train, tmp_path)
    assert info["device"] == "cuda" and info["run"]["precision"] == options.get("precision", "fp32")
    # 6 steps; with cuda_graph: 3 eager, then one capture and two replays, each on fresh noise.
    step_losses = pd.read_csv(tmp_path / "steps.csv").drop(columns=["epoch", "step"])
    assert len(step_losses) == 6 and all(step_losses[key].nunique() == 6 for key in step_losses)
    saved = np.load(tmp_path / "samples" / "epoch_0002.npy")
    generator = evaluation.load_generator(run, tmp_path / "ckpt" / "epoch_0002.pt")
    noise = sampling.sample_noise(run["n_fixed"], run, torch.device("cpu"), torch.Generator().manual_seed(run["seed"]))
    on_cpu = sampling.to_uint8(generator(noise), run["pixel_range"]).astype(int)
    assert saved.shape == on_cpu.shape and saved.std() > 0
    assert np.abs(saved - on_cpu).mean() < 0.5 and np.abs(saved - on_cpu).max() <= 8


@cuda
@pytest.mark.parametrize("variant", ["fp32", "bf16", "fp32+graph"])
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_trains_on_cuda_and_the_cpu_redraws_its_samples(preset, variant, tiny_train, tmp_path):
    """Labels, gradient penalty, resizing to 32/64 px and the VAE on the GPU: fp32, bf16 autocast, CUDA graphs."""
    import numpy as np
    from genzoo import evaluation

    precision, graph = variant.split("+")[0], variant.endswith("+graph")
    if graph and config.graph_obstacle(PRESETS[preset]):
        pytest.skip(f"{preset} cannot replay a CUDA graph (the config check refuses it)")
    run = resolved_run(
        preset, epochs=2, batch_size=32, steps_per_epoch=3, device="cuda", precision=precision, cuda_graph=graph
    )
    info = train_tiny(run, tiny_train, tmp_path)
    assert info["device"] == "cuda"
    losses = pd.read_csv(tmp_path / "steps.csv").drop(columns=["epoch", "step"]).to_numpy(float)
    assert len(losses) == 6 and np.isfinite(losses).all()  # every loss on every step (a critic's G loss too)
    saved = np.load(tmp_path / "samples" / "epoch_0002.npy").astype(int)
    cpu = torch.device("cpu")
    generator = evaluation.load_generator(run, tmp_path / "ckpt" / "epoch_0002.pt")
    noise = sampling.sample_noise(run["n_fixed"], run, cpu, torch.Generator().manual_seed(run["seed"]))
    with torch.no_grad():
        redrawn = sampling.generate(generator, noise, sampling.fixed_labels(run, cpu))
    difference = np.abs(saved - sampling.to_uint8(redrawn, run["pixel_range"]).astype(int))
    print(f"{preset} {variant}: mean |GPU - CPU| {difference.mean():.3f}, max {difference.max()} (of 255)")
    assert saved.std() > 0
    # Weights stay fp32 under bf16 autocast and samples are drawn outside it: GPU and CPU differ by rounding only.
    assert difference.mean() < 0.5 and difference.max() <= 8


@cuda
@pytest.mark.parametrize("images", [96, 100])  # 100: every epoch ends on a short batch of 4, run eagerly
@pytest.mark.parametrize("preset", ["pytorch-cgan", "pytorch-wgan-gp", "pytorch-gan"])
def test_graph_replays_take_the_steps_eager_code_takes(preset, images, first_train_images, tmp_path):
    """Labels as a static input (cgan), one graph per phase (WGAN-GP's generator update on every n_critic-th batch):
    2 epochs of 6 or 7 batches, so the critic's phases alternate and each is captured after the warm-up, then
    replayed. The replays draw the noise and labels eager steps draw, so the step losses agree to rounding."""
    import numpy as np

    by_mode = {}
    for graph in (False, True):
        run = resolved_run(preset, epochs=2, batch_size=16, device="cuda", cuda_graph=graph)
        train_tiny(run, first_train_images(images), tmp_path / str(graph))
        by_mode[graph] = pd.read_csv(tmp_path / str(graph) / "steps.csv").drop(columns=["epoch", "step"])
    assert list(by_mode[True].columns) == list(by_mode[False].columns) and len(by_mode[True]) == 2 * -(-images // 16)
    np.testing.assert_allclose(by_mode[True].to_numpy(float), by_mode[False].to_numpy(float), rtol=1e-3, atol=1e-5)


def test_a_batch_larger_than_the_data_is_refused_not_shrunk(tiny_train, tmp_path):
    run = resolved_run("pytorch-gan", epochs=1, batch_size=128)  # 96 images
    with pytest.raises(ValueError, match=r"run r: batch_size 128 exceeds the 96 training images of .*train\.pt"):
        train_tiny(run, tiny_train, tmp_path)
    assert not (tmp_path / "info.json").exists()


def test_a_last_batch_of_one_image_is_refused_before_training_where_batchnorm_needs_two(tiny_train, tmp_path):
    """96 images in batches of 95 leave a batch of one, which PyTorch's BatchNorm1d cannot normalise by its own
    statistics: refused at once, naming the networks, not after a pass with PyTorch's message."""
    run = resolved_run("pytorch-gan", epochs=1, batch_size=95)
    with pytest.raises(ValueError, match=r"run r: the 96 training images of .*train\.pt in batches of 95 leave a last "
                       r"batch of one image, and the BatchNorm of the generator cannot"):  # fmt: skip
        train_tiny(run, tiny_train, tmp_path)
    assert not (tmp_path / "info.json").exists() and not (tmp_path / "resume" / "state.pt").exists()
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match=r"in batches of one image, .* choose a batch_size of 2 or more"):
        train_tiny(resolved_run("pytorch-gan", epochs=1, batch_size=1), tiny_train, tmp_path)
    # tf-dcgan's generator makes a full batch of fakes beside a real batch of one, and its discriminator has no
    # BatchNorm: nothing to refuse.
    tf_dcgan = resolved_run("tf-dcgan", batch_size=95)
    training.check_batches(tf_dcgan, training.build_nets(tf_dcgan, torch.device("cpu")), 96, tiny_train)
    for preset, roles in [
        ("pytorch-gan", ["generator"]),
        ("tf-dcgan", ["generator"]),
        ("cs231n-torch-dcgan", ["generator"]),
        ("cs231n-dcgan", []),
    ]:
        assert training.roles_needing_two_images(training.build_nets(resolved_run(preset), cpu)) == roles, preset
    for batch_size, drop_last, smallest in [(95, False, 1), (95, True, 95), (32, False, 32), (10, False, 6)]:
        assert training.smallest_batch({"batch_size": batch_size, "drop_last": drop_last}, 96) == smallest


def test_the_cs231n_editions_visit_the_digits_in_file_order_every_epoch():
    """The TF edition's MNIST class shuffles an index array it never uses and iterates range(0, N, B): the digits in
    file order every epoch, the last batch of 96 kept. The PyTorch edition's ChunkSampler walks them in order too, and
    its loop skips the short batch. Other presets draw a fresh order every epoch."""
    tf_edition, torch_edition = resolved_run("cs231n-gan"), resolved_run("cs231n-torch-gan", batch_size=2)
    assert (tf_edition["drop_last"], tf_edition["full_fake_batch"], tf_edition["optimizer_eps"]) == (False, True, 1e-7)
    assert (torch_edition["drop_last"], torch_edition["full_fake_batch"], torch_edition["optimizer_eps"]) == (
        True,
        False,
        1e-8,
    )
    visits = []
    for run in (resolved_run("cs231n-gan", batch_size=2), torch_edition, resolved_run("pytorch-gan", batch_size=2)):
        cursor = training.DataCursor(run, 5, torch.device("cpu"))
        visits.append([cursor.next_batch()[0].tolist() for _ in range(2 * cursor.batches_per_epoch)])
    assert visits[0] == [[0, 1], [2, 3], [4], [0, 1], [2, 3], [4]]
    assert visits[1] == [[0, 1], [2, 3], [0, 1], [2, 3]]
    first, second = visits[2][:3], visits[2][3:]
    assert sorted(sum(first, [])) == list(range(5)) and first != second


def test_keras_stacked_step_replays_the_books_gan_loop():
    """Deep Learning with Python's 8.5, by hand from the same random state: D on [generated, real] labelled 1 and 0
    plus 0.05 * U(0, 1), then G on fresh noise through D toward 0; RMSprop (rho 0.9) with clipvalue 1."""
    run = resolved_run("dlwp1-gan", batch_size=3) | {"latent_dim": 2}
    nets, manual = stand_in_nets(2, 4)
    real = torch.rand(3, 4)
    torch.manual_seed(1)
    steps.step_keras_stacked(nets, training.make_optimizers(run, nets), real, run, torch.device("cpu"))

    torch.manual_seed(1)
    g, d = manual["generator"], manual["discriminator"]
    rms = {
        role: torch.optim.RMSprop(manual[role].parameters(), lr=lr, alpha=0.9, eps=1e-8)
        for role, lr in (("generator", 4e-4), ("discriminator", 8e-4))
    }
    generated = g(torch.randn(3, 2)).detach()
    labels = torch.cat([torch.ones(3, 1), torch.zeros(3, 1)]) + 0.05 * torch.rand(6, 1)
    probability = torch.sigmoid(d(torch.cat([generated, real])))  # the book's sigmoid output and BCE
    (-(labels * probability.log() + (1 - labels) * (1 - probability).log()).mean()).backward()
    for param in d.parameters():
        param.grad.clamp_(-1, 1)
    rms["discriminator"].step()
    g.zero_grad()
    (-(1 - torch.sigmoid(d(g(torch.randn(3, 2))))).log().mean()).backward()  # misleading targets: 0
    for param in g.parameters():
        param.grad.clamp_(-1, 1)
    rms["generator"].step()
    assert_same_parameters(nets, manual)


def test_keras_rmsprop_clips_each_gradient_element_and_decays_its_rate():
    weight = torch.nn.Parameter(torch.zeros(2))
    optimizer = training.KerasRMSprop([weight], lr=0.1, eps=1e-8, clip_value=1.0, decay=0.5)
    square_average, expected = torch.zeros(2), torch.zeros(2)
    for update, gradient in enumerate([torch.tensor([5.0, -0.2]), torch.tensor([-3.0, 0.4])]):
        weight.grad = gradient.clone()
        optimizer.step()
        clipped = gradient.clamp(-1, 1)
        square_average = 0.9 * square_average + 0.1 * clipped.square()
        expected -= 0.1 / (1 + 0.5 * update) * clipped / (square_average.sqrt() + 1e-8)
        torch.testing.assert_close(weight.detach(), expected)
    resumed = training.KerasRMSprop([torch.nn.Parameter(torch.zeros(2))], lr=0.1, eps=1e-8, clip_value=1.0, decay=0.5)
    resumed.load_state_dict(optimizer.state_dict())
    assert resumed.param_groups[0]["updates"] == 2  # a resumed run decays on from where it stopped


def test_the_first_editions_vae_loss_and_draw_are_the_books():
    """xent: Keras 2.0.8's clipped BCE averaged over every pixel; kl: -5e-4 * mean over latent dims, averaged over
    the batch; and the draw z = mean + exp(log_var) * eps. Held-out scores take the true ELBO of those draws (std
    exp(log_var))."""
    images = torch.tensor([[0.0, 1.0], [1.0, 1.0]]).view(2, 1, 1, 2)
    reconstruction = torch.full_like(images, 0.5)
    z_mean, z_log_var = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    total, bce, kl = losses.dlwp1_vae_loss(reconstruction, images, z_mean, z_log_var)
    assert float(bce) == pytest.approx(math.log(2))
    # Image 1: mean(1 + 0 - 1 - 1, 1 + 0 - 0 - 1) = -0.5; image 2: mean(1 + 1 - e, 0) = (2 - e) / 2.
    assert float(kl) == pytest.approx(-5e-4 * (-0.5 + (2 - math.e) / 2) / 2)
    assert float(total) == pytest.approx(float(bce) + float(kl))
    epsilon = torch.ones(2, 2)
    assert sampling.latent_sample(z_mean, z_log_var, epsilon, "variance")[1, 0] == pytest.approx(math.e)
    assert sampling.latent_sample(z_mean, z_log_var, epsilon)[1, 0] == pytest.approx(math.exp(0.5))
    assert float(sampling.posterior_log_variance(z_log_var, "variance")[1, 0]) == 2.0
    run = resolved_run("dlwp1-vae")
    assert (run["vae_loss"], run["vae_epsilon_scale"], run["optimizer"], run["batch_size"]) == (
        "dlwp1", "variance", "rmsprop", 16,
    )  # fmt: skip


def test_keras2s_cross_entropy_clips_the_probabilities_as_keras_2_0_8():
    """Within [1e-7, 1 - 1e-7] it is BCELoss, value and gradient; past the clip each pixel's loss stops at
    -log(1e-7) (about 16.1) and passes no gradient back, where BCELoss goes on to its clamp at 100."""
    targets = torch.tensor([1.0, 0.0, 0.3, 1.0, 0.0])
    probs = torch.tensor([0.2, 0.7, 0.5, 1e-30, 1.0 - 1e-12], dtype=torch.float64, requires_grad=True)
    ours = losses.keras2_binary_crossentropy(probs, targets.double())
    ours.backward()
    inside = torch.tensor([0.2, 0.7, 0.5], dtype=torch.float64, requires_grad=True)
    theirs = torch.nn.functional.binary_cross_entropy(inside, targets[:3].double(), reduction="sum") / 5
    theirs.backward()
    clipped = -math.log(1e-7)
    torch.testing.assert_close(ours, theirs + 2 * clipped / 5, rtol=1e-9, atol=0)
    torch.testing.assert_close(probs.grad[:3], inside.grad, rtol=1e-9, atol=0)
    assert probs.grad[3:].tolist() == [0.0, 0.0]
    saturated = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert float(torch.nn.functional.binary_cross_entropy(saturated, 1 - saturated)) == 100.0  # torch's own clamp
    assert float(losses.keras2_binary_crossentropy(saturated, 1 - saturated)) == pytest.approx(clipped, rel=1e-5)


def test_the_manifold_puts_z0_along_the_columns_and_z1_down_the_rows_as_the_book():
    latents = sampling.manifold_latents(3).view(3, 3, 2)
    quantiles = latents[0, :, 0]
    assert quantiles[0] < 0 < quantiles[2] and abs(float(quantiles[1])) < 1e-6
    torch.testing.assert_close(latents[:, :, 0], quantiles.expand(3, 3))  # z0 = q_j in column j
    torch.testing.assert_close(latents[:, :, 1], quantiles[:, None].expand(3, 3))  # z1 = q_i in row i


def test_a_moving_average_of_the_generator_is_kept_and_saved_with_each_checkpoint(tiny_train, tmp_path):
    """ema 0.5 over one-step epochs: after step 1 the average is the generator (the first update copies it), after
    step 2 it is half the average before and half the generator after."""
    run = resolved_run("pytorch-gan", epochs=2, batch_size=32, steps_per_epoch=1, ema=0.5)
    train_tiny(run, tiny_train, tmp_path)
    first, second = (files.load_torch(tmp_path / "ckpt" / f"epoch_000{epoch}.pt")["nets"] for epoch in (1, 2))
    assert int(first["generator_ema"]["n_averaged"]) == 1 and int(second["generator_ema"]["n_averaged"]) == 2
    for key, weight in second["generator"].items():
        if weight.is_floating_point():
            torch.testing.assert_close(first["generator_ema"][f"module.{key}"], first["generator"][key])
            expected = 0.5 * first["generator_ema"][f"module.{key}"] + 0.5 * weight
            torch.testing.assert_close(second["generator_ema"][f"module.{key}"], expected)
    assert not torch.equal(second["generator_ema"]["module.model.0.weight"], second["generator"]["model.0.weight"])
