import math

import pytest
import torch
from genzoo import models
from genzoo.models.keras_layers import SameConv2d, SameConvTranspose2d
from genzoo.presets import PRESETS
from torch import nn

# PyTorch trainable parameters of the reference implementations (BatchNorm running stats excluded).
REFERENCE_COUNTS = {
    "mlp-gan": {"generator": 1_510_032, "discriminator": 533_505},
    "tf-dcgan": {"generator": 2_305_472, "discriminator": 212_865},
    # Deep Learning with Python's encoder / decoder summaries: 69,076 and 65,089 parameters.
    "keras-vae": {"encoder": 69_076, "generator": 65_089},
    # CS231n's own checks count the vanilla D and the DC pair; G at noise 96 (its check uses 4: 1,858,320).
    "cs231n-mlp": {"generator": 1_952_528, "discriminator": 267_009},
    "cs231n-dc": {"generator": 6_675_009, "discriminator": 1_102_721},
    "cs231n-tf-mlp": {"generator": 1_952_528, "discriminator": 267_009},
    "cs231n-tf-dc": {"generator": 6_675_009, "discriminator": 1_102_721},
    "tf-basic-gan": {"generator": 114_064, "discriminator": 100_609},
    # PyTorch-GAN's dcgan.py / lsgan.py at 32 px, summed from their layer lists (lsgan: no first BatchNorm2d).
    "pytorch-dcgan": {"generator": 1_049_985, "discriminator": 98_113},
    "pytorch-lsgan": {"generator": 1_049_729, "discriminator": 98_113},
    # pytorch/examples' DCGAN for one channel at ngf = ndf = 64, no biases.
    "examples-dcgan": {"generator": 3_574_656, "discriminator": 2_763_520},
    # cgan.py at 32 px, summed from its layer lists (two 10 x 10 label embeddings included).
    "pytorch-cgan": {"generator": 1_757_412, "discriminator": 1_055_845},
    # Deep Learning with Python, 1st ed.: the VAE's summary prints 550,629 in all (decoder 56,385); the GAN's
    # generator 6,264,579 and discriminator 790,913 for the book's 3 channels (pinned below), here for MNIST's 1.
    "dlwp1-vae": {"encoder": 494_244, "generator": 56_385},
    "dlwp1-gan": {"generator": 6_239_489, "discriminator": 788_609},
}
# What each architecture is built with, read from the presets that use it (the registry is the one source).
USES = {preset.architecture: preset for preset in PRESETS.values()}
LATENT = {architecture: preset.latent_dim for architecture, preset in USES.items()}
GAN_ARCHITECTURES = sorted(architecture for architecture, preset in USES.items() if preset.kind == "gan")
SIZE = {architecture: preset.image_size for architecture, preset in USES.items()}
CONDITIONAL = {architecture for architecture, preset in USES.items() if preset.conditional}


def label_args(architecture: str, n: int) -> tuple:
    return (torch.arange(n) % 10,) if architecture in CONDITIONAL else ()


@pytest.mark.parametrize("architecture", sorted(REFERENCE_COUNTS))
def test_parameter_counts_match_the_references(architecture):
    nets = models.build(architecture, LATENT[architecture])
    assert {role: models.count_parameters(net) for role, net in nets.items()} == REFERENCE_COUNTS[architecture]


@pytest.mark.parametrize(
    "architecture,low,high",
    [("mlp-gan", -1, 1), ("tf-dcgan", -1, 1), ("keras-vae", 0, 1), ("cs231n-mlp", -1, 1), ("cs231n-dc", -1, 1)]
    + [("tf-basic-gan", 0, 1)],
)
def test_generators_make_28px_images_in_their_pixel_range(architecture, low, high):
    torch.manual_seed(0)
    generator = models.build(architecture, LATENT[architecture])["generator"].eval()
    images = generator(torch.randn(5, LATENT[architecture]) * 3)
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= low and images.max() <= high


@pytest.mark.parametrize("architecture", GAN_ARCHITECTURES)
def test_discriminators_return_one_logit_per_image(architecture):
    discriminator = models.build(architecture, LATENT[architecture])["discriminator"]
    size = SIZE[architecture]
    assert discriminator(torch.rand(4, 1, size, size), *label_args(architecture, 4)).shape == (4, 1)


@pytest.mark.parametrize("architecture", sorted(a for a, size in SIZE.items() if size > 28))
def test_larger_generators_make_images_of_their_size_in_tanh_range(architecture):
    torch.manual_seed(0)
    images = models.build(architecture, 100)["generator"].eval()(torch.randn(5, 100) * 3, *label_args(architecture, 5))
    size = SIZE[architecture]
    assert images.shape == (5, 1, size, size) and images.min() >= -1 and images.max() <= 1


def test_examples_dcgan_has_no_biases_and_the_references_init():
    torch.manual_seed(0)
    for net in models.build("examples-dcgan", 100).values():
        layers = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        assert len(layers) == 5 and all(m.bias is None for m in layers)
        assert all(float(m.weight.detach().std()) == pytest.approx(0.02, rel=0.25) for m in layers)


def test_pytorch_dcgan_keeps_the_references_batchnorm_eps_and_init():
    torch.manual_seed(0)
    nets = models.build("pytorch-dcgan", 100)
    norms = [m for m in nets["generator"].modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m.eps for m in norms] == [1e-5, 0.8, 0.8]  # BatchNorm2d(128), then (n, 0.8) with 0.8 as eps
    assert all(m.eps == 0.8 for m in nets["discriminator"].modules() if isinstance(m, nn.BatchNorm2d))
    convolutions = [m for net in nets.values() for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(float(m.weight.detach().std()) == pytest.approx(0.02, rel=0.25) for m in convolutions)
    assert all(float(m.weight.detach().mean()) == pytest.approx(1.0, abs=0.01) for m in norms)
    lsgan_norms = [
        m for m in models.build("pytorch-lsgan", 100)["generator"].modules() if isinstance(m, nn.BatchNorm2d)
    ]
    assert [m.eps for m in lsgan_norms] == [0.8, 0.8]


def test_vae_encoder_returns_mean_and_log_variance():
    z_mean, z_log_var = models.build("keras-vae", 2)["encoder"](torch.rand(3, 1, 28, 28))
    assert z_mean.shape == z_log_var.shape == (3, 2)


def test_pytorch_gan_keeps_the_batchnorm_eps_quirk():
    norms = [m for m in models.build("mlp-gan", 100)["generator"].modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 3
    assert all(m.eps == 0.8 and m.momentum == 0.1 for m in norms)


def test_tf_dcgan_uses_keras_defaults():
    generator = models.build("tf-dcgan", 100)["generator"]
    norms = [m for m in generator.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    slopes = {m.negative_slope for m in generator.modules() if isinstance(m, nn.LeakyReLU)}
    assert norms and all(m.eps == 1e-3 and m.momentum == 0.01 for m in norms)
    assert slopes == {0.3}
    assert all(m.bias is None for m in generator.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d)))


def test_tf_dcgan_batchnorm_keeps_keras_moving_averages_of_biased_variances():
    """Keras' BatchNormalization normalizes a batch as PyTorch's does, but moves its variance toward the batch's
    biased variance (Keras' moments), not the unbiased one PyTorch keeps: for 8 images, 8/7 times smaller."""
    torch.manual_seed(0)
    norms = [m for m in models.build("tf-dcgan", 100)["generator"].modules() if isinstance(m, nn.BatchNorm1d)]
    first = norms[0].train()
    x = torch.randn(8, 7 * 7 * 256, dtype=torch.float64) * 2 + 1
    first.double()
    reference = nn.BatchNorm1d(7 * 7 * 256, eps=1e-3, momentum=0.01).double().train()
    torch.testing.assert_close(first(x), reference(x))  # the batch normalized alike
    torch.testing.assert_close(first.running_mean, 0.99 * 0 + 0.01 * x.mean(0))
    torch.testing.assert_close(first.running_var, 0.99 * 1 + 0.01 * x.var(0, correction=0))
    assert not torch.allclose(first.running_var, reference.running_var)  # PyTorch's own: unbiased
    first.eval()
    torch.testing.assert_close(first(x), (x - first.running_mean) / (first.running_var + 1e-3).sqrt())

    convolutional = [m for m in models.build("tf-dcgan", 100)["generator"].modules() if isinstance(m, nn.BatchNorm2d)]
    norm = convolutional[0].double().train()
    maps = torch.randn(4, 128, 7, 7, dtype=torch.float64) * 3
    norm(maps)
    torch.testing.assert_close(norm.running_var, 0.99 + 0.01 * maps.var((0, 2, 3), correction=0))
    with pytest.raises(ValueError, match="expected 4D input"):
        norm(x)


def assert_glorot_uniform(weight: torch.Tensor) -> None:
    """Drawn from U(-b, b), b = sqrt(6 / (fan_in + fan_out)): inside the bound, with the uniform's spread b / sqrt 3."""
    weight = weight.detach()
    fan_in, fan_out = weight.shape[1] * weight[0, 0].numel(), weight.shape[0] * weight[0, 0].numel()
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert float(weight.abs().max()) <= bound
    assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.1)


def test_cs231n_dcgan_initializes_linear_and_transposed_convolutions_xavier_uniform():
    nets = models.build("cs231n-dc", 96)
    for net in nets.values():
        for module in net.modules():
            if isinstance(module, nn.Linear | nn.ConvTranspose2d):
                assert_glorot_uniform(module.weight)
    slopes = {m.negative_slope for m in nets["discriminator"].modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}


def test_dlwp1_gan_counts_what_the_book_prints_for_three_channels():
    from genzoo.models import dlwp1_gan

    nets = dlwp1_gan.build(32, channels=3)
    assert {role: models.count_parameters(net) for role, net in nets.items()} == {
        "generator": 6_264_579,
        "discriminator": 790_913,
    }
    images = nets["generator"](torch.randn(2, 32))
    assert images.shape == (2, 3, 32, 32) and nets["discriminator"](images).shape == (2, 1)
    slopes = {m.negative_slope for net in nets.values() for m in net.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.3}  # keras.layers.LeakyReLU()'s default alpha


def keras_weight_count(net: nn.Module) -> int:
    """What the TF notebook prints, np.sum([np.prod(p.shape) for p in model.weights]): Keras' weights include
    BatchNormalization's moving mean and variance."""
    moving = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in net.modules()
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
    )
    return sum(p.numel() for p in net.parameters()) + moving


def test_cs231n_tf_edition_counts_what_its_notebook_prints():
    """Its checks build the generators with noise_dim 4: test_generator(true_count=1858320) and 6595521 for the DC
    generator (moving statistics included); the discriminators 267009 and 1102721."""
    counts = {
        architecture: {role: keras_weight_count(net) for role, net in models.build(architecture, 4).items()}
        for architecture in ("cs231n-tf-mlp", "cs231n-tf-dc")
    }
    assert counts == {
        "cs231n-tf-mlp": {"generator": 1_858_320, "discriminator": 267_009},
        "cs231n-tf-dc": {"generator": 6_595_521, "discriminator": 1_102_721},
    }


def test_cs231n_tf_edition_initializes_every_layer_as_keras_does():
    torch.manual_seed(0)
    for architecture in ("cs231n-tf-mlp", "cs231n-tf-dc"):
        for net in models.build(architecture, 96).values():
            layers = [m for m in net.modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d)]
            assert layers
            for layer in layers:
                assert_glorot_uniform(layer.weight)
                assert float(layer.bias.detach().abs().max()) == 0.0


def test_cs231n_tf_dcgan_batchnorm_runs_on_its_moving_statistics_in_training():
    """run_a_gan calls G(noise) without training=True: Keras' BatchNormalization then normalizes by its moving mean
    0 and variance 1 and never updates them, so in training a layer is gamma * x / sqrt(1 + 1e-3) + beta."""
    torch.manual_seed(0)
    generator = models.build("cs231n-tf-dc", 96)["generator"].train()
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    assert len(norms) == 3 and all(m.eps == 1e-3 and m.momentum == 0.01 for m in norms)
    first = norms[0]
    with torch.no_grad():
        first.weight.uniform_(0.5, 1.5)
        first.bias.uniform_(-0.5, 0.5)
    x = torch.randn(16, 1024) * 3 + 2
    torch.testing.assert_close(first(x), first.weight * x / math.sqrt(1 + 1e-3) + first.bias)
    generator(torch.rand(16, 96) * 2 - 1).sum().backward()
    assert all(float(m.running_mean.abs().max()) == 0 and bool((m.running_var == 1).all()) for m in norms)
    assert all(m.weight.grad is not None for m in norms)  # gamma and beta still learn
    torch_norms = [m for m in models.build("cs231n-dc", 96)["generator"].modules() if isinstance(m, nn.BatchNorm1d)]
    assert torch_norms[0](x).mean().abs() < 1e-3  # the PyTorch edition normalizes by the batch's statistics


def test_tf_basic_gan_initializes_like_xavier_initializer_with_zero_biases():
    """The text's tf.contrib.layers.xavier_initializer() (uniform by default) and tf.constant_initializer(0): for
    G's output layer a spread of 0.047, where N(0, 2 / fan_in) would give 0.125."""
    torch.manual_seed(0)
    linears = [
        m for net in models.build("tf-basic-gan", 100).values() for m in net.modules() if isinstance(m, nn.Linear)
    ]
    assert [tuple(m.weight.shape) for m in linears] == [(128, 100), (784, 128), (128, 784), (1, 128)]
    for layer in linears:
        assert_glorot_uniform(layer.weight)
        assert float(layer.bias.detach().abs().max()) == 0.0
    assert float(linears[1].weight.detach().std()) == pytest.approx(0.047, abs=0.002)


@pytest.mark.parametrize("size,kernel,stride", [(28, 5, 2), (14, 5, 2), (7, 5, 1), (28, 3, 2), (14, 3, 2), (28, 3, 1)])
def test_same_conv_transpose_is_the_adjoint_of_same_conv(size, kernel, stride):
    """TensorFlow defines conv2d_transpose as the gradient of conv2d; check ours is exactly that."""
    torch.manual_seed(0)
    conv = SameConv2d(3, 4, kernel, stride=stride, bias=False)
    transpose = SameConvTranspose2d(4, 3, kernel, stride=stride, bias=False)
    transpose.weight.data.copy_(conv.weight.data)
    x = torch.randn(2, 3, size, size, requires_grad=True)
    y = conv(x)
    assert y.shape[-1] == -(-size // stride)
    upstream = torch.randn_like(y)
    (expected,) = torch.autograd.grad(y, x, upstream)
    torch.testing.assert_close(transpose(upstream), expected, atol=1e-5, rtol=1e-5)


def test_same_conv_pads_the_extra_pixel_after():
    """TF 'same' with an odd total pads one more at the bottom/right: a delta at (1, 1) of a 4x4
    input under a 3x3 stride-2 all-ones kernel lands in output (0, 0) only (symmetric padding
    would spread it to all four outputs)."""
    conv = SameConv2d(1, 1, 3, stride=2, bias=False)
    conv.weight.data.fill_(1.0)
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = 1.0
    assert conv(x)[0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_cgan_draws_a_different_image_for_each_label_of_the_same_noise():
    torch.manual_seed(0)
    nets = models.build("pytorch-cgan", 100)
    generator, discriminator = nets["generator"].eval(), nets["discriminator"].eval()
    z = torch.randn(1, 100).repeat(10, 1)
    images = generator(z, torch.arange(10))
    assert all(not torch.equal(images[0], images[k]) for k in range(1, 10))
    scores = discriminator(images[:1].repeat(10, 1, 1, 1), torch.arange(10))
    assert scores.unique().numel() == 10  # the critic's verdict depends on the label it is told


def test_every_preset_names_an_architecture_with_reference_counts():
    assert {preset.architecture for preset in PRESETS.values()} == set(models.ARCHITECTURES) == set(REFERENCE_COUNTS)


def test_building_an_architecture_imports_its_module_alone_and_the_map_no_torch():
    """What the workflow's per-run code inputs rely on: the map is read without torch, a build loads one module."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from genzoo import models; assert 'torch' not in sys.modules, 'the map imported torch'; "
        "models.build('pytorch-cgan', 100); "
        "print(sorted(name for name in sys.modules if name.startswith('genzoo.models.')))"
    )
    package_root = Path(models.__file__).parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=package_root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['genzoo.models.mlp_gan', 'genzoo.models.pytorch_cgan']"
