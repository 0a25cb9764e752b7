"""Keras layer semantics that PyTorch lacks, needed to port Keras models faithfully."""

import math

import torch
import torch.nn.functional as F
from torch import nn

KERAS_LEAKY_SLOPE = 0.3  # keras.layers.LeakyReLU's default alpha, not PyTorch's 0.01


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding: the odd pixel goes after, not before."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding (asymmetric when the total is odd)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, bottom = _same_padding(x.shape[-2], kh, sh)
        left, right = _same_padding(x.shape[-1], kw, sw)
        return super().forward(F.pad(x, (left, right, top, bottom)))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """ConvTranspose2d with TensorFlow 'same' padding: output = input * stride.

    TensorFlow crops the full transposed output starting at (kernel - stride) // 2, whereas
    PyTorch's padding/output_padding crop symmetrically and would shift the image by a pixel.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = super().forward(x)
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
        height, width = x.shape[-2] * sh, x.shape[-1] * sw
        return full[..., top : top + height, left : left + width]


def keras_init_(module: nn.Module) -> None:
    """Keras defaults: glorot-uniform kernels and zero biases (BatchNorm keeps gamma=1, beta=0)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class _UsesMovingStatistics:
    """BatchNorm as Keras runs it when a model is called without training=True (learning phase 0, TF2's eager
    default): normalized by the moving statistics in training too, which therefore never move from mean 0 and
    variance 1, so the layer is a trainable scale and shift of x / sqrt(1 + eps)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


class MovingStatisticsBatchNorm1d(_UsesMovingStatistics, nn.BatchNorm1d):
    pass


class MovingStatisticsBatchNorm2d(_UsesMovingStatistics, nn.BatchNorm2d):
    pass


class _KerasMovingAverages:
    """BatchNorm in training as Keras runs it: normalized by the batch's statistics, its moving variance fed the
    batch's biased variance (Keras' moments), where PyTorch feeds running_var the unbiased one, n / (n - 1) times
    larger for n values a channel: 0.4 % for a dense layer's batch of 256, which the grids, drawn in inference mode,
    would carry. PyTorch's own pass (its statistics computed once), then the moving variance mended in O(channels):
    from r' = (1 - m) r + m u to (1 - m) r + m u (n - 1) / n = r' (n - 1) / n + (1 - m) r / n."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        self._check_input_dim(x)
        self.num_batches_tracked.add_(1)
        moved = self.running_var.clone()  # batch_norm keeps its running variance for the backward pass: a copy
        normalized = F.batch_norm(x, self.running_mean, moved, self.weight, self.bias, True, self.momentum, self.eps)
        n = x.numel() // x.shape[1]
        with torch.no_grad():
            self.running_var.copy_(moved * ((n - 1) / n) + self.running_var * ((1 - self.momentum) / n))
        return normalized


class KerasBatchNorm1d(_KerasMovingAverages, nn.BatchNorm1d):
    pass


class KerasBatchNorm2d(_KerasMovingAverages, nn.BatchNorm2d):
    pass


def keras_batch_norm(num_features: int, dims: int = 2, moving_statistics: bool = False) -> nn.Module:
    """Keras BatchNormalization defaults: momentum 0.99 (PyTorch's 0.01) and eps 1e-3, the moving variance of biased
    batch variances (see _KerasMovingAverages). moving_statistics: as a model called without training=True uses it,
    in training as well (see _UsesMovingStatistics)."""
    if not moving_statistics:
        cls = KerasBatchNorm1d if dims == 1 else KerasBatchNorm2d
    else:
        cls = MovingStatisticsBatchNorm1d if dims == 1 else MovingStatisticsBatchNorm2d
    return cls(num_features, eps=1e-3, momentum=0.01)
