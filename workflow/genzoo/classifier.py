"""The per-dataset feature classifier: trained once, frozen, and used by every score."""

import logging
import math
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import data, files, runtime
from .data import NUM_CLASSES

log = logging.getLogger(__name__)


class FeatureClassifier(nn.Module):
    """A LeNet-style CNN; its 128-d penultimate activations are the features every score uses."""

    def __init__(self, feature_dim: int = 128):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(32 * 7 * 7, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, NUM_CLASSES)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Per-image integer translations of up to max_shift pixels (zero fill): cheap augmentation."""
    n = images.shape[0]
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator).to(images.device)
    padded = F.pad(images, (max_shift,) * 4)
    size = images.shape[-1]
    rows = (torch.arange(size, device=images.device) + max_shift - shifts[:, :1]).unsqueeze(2)
    cols = (torch.arange(size, device=images.device) + max_shift - shifts[:, 1:]).unsqueeze(1)
    batch = torch.arange(n, device=images.device).view(n, 1, 1)
    return padded[batch, 0, rows, cols].unsqueeze(1)


def scoring_classifier(path: str, device: str, threads: int) -> tuple[torch.device, FeatureClassifier]:
    """A scoring job's device (auto: a GPU if torch sees one) and the frozen classifier on it. Float32 convolutions
    and matrix products run at full precision, where cuDNN's default for convolutions on a GPU is TF32 (10-bit
    mantissas): scores made on a GPU then stay close to the CPU's."""
    device = runtime.resolve_device(device)
    runtime.configure_torch(device, threads)
    torch.backends.cudnn.conv.fp32_precision = "ieee"
    torch.backends.cuda.matmul.fp32_precision = "ieee"
    return device, load_classifier(path).to(device)


@torch.no_grad()
def features_and_probs(classifier: FeatureClassifier, images: torch.Tensor, batch_size: int = 500):
    """Features and class probabilities (float64, on the images' device) for images in [0, 1]."""
    classifier.eval()
    feats, probs = [], []
    for start in range(0, images.shape[0], batch_size):
        f = classifier.features(images[start : start + batch_size])
        feats.append(f.double())
        probs.append(F.softmax(classifier.head(f), dim=1).double())
    return torch.cat(feats), torch.cat(probs)


def train_classifier(
    train_path: str,
    test_path: str,
    model_path: str,
    info_path: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    min_accuracy: float = 0.0,
    floor_key: str = "min_accuracy",
    threads: int = 1,
) -> dict:
    """Trains, freezes and saves the feature classifier; records its test accuracy and file hash.

    Stops at a non-finite loss, and saves nothing when the test accuracy ends below min_accuracy (the config key
    floor_key sets it): every score rests on this classifier."""
    device = torch.device("cpu")
    runtime.configure_torch(device, threads)
    torch.manual_seed(seed)
    images, labels = data.load_split(train_path, device)
    test_images, test_labels = data.load_split(test_path, device)
    classifier = FeatureClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    for epoch in range(1, epochs + 1):
        classifier.train()
        order = torch.randperm(images.shape[0], generator=rng)
        total = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            loss = F.cross_entropy(classifier(random_shift(images[index], 2, rng)), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        if not math.isfinite(total):
            raise FloatingPointError(
                f"classifier: loss is {total / len(order)} at epoch {epoch} on {train_path}; with a learning rate of "
                f"{lr}, suspect the data first (delete {Path(train_path).parent} and run snakemake again)"
            )
        accuracy = test_accuracy(classifier, test_images, test_labels)
        log.info("classifier epoch %d/%d  loss=%.4f  test accuracy=%.4f", epoch, epochs, total / len(order), accuracy)

    accuracy = test_accuracy(classifier, test_images, test_labels)
    check_floor(accuracy, test_path, min_accuracy, floor_key, "train it longer (classifier.epochs)")
    files.save_torch(model_path, classifier.state_dict())
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    return write_info(info_path, model_path, accuracy, len(test_labels), settings=settings)


def use_pinned_classifier(
    source: str | Path,
    sha256: str,
    test_path: str,
    model_path: str,
    info_path: str,
    min_accuracy: float = 0.0,
    floor_key: str = "min_accuracy",
    key: str = "classifier",
    threads: int = 1,
) -> dict:
    """Takes a classifier file instead of training one (the config key `key` pins it): copies it beside
    model_path, checks that the copy's SHA-256 is the pinned one and that it is a classifier that meets the accuracy
    floor on this dataset's test split, and only then publishes it and records its test accuracy, so the file
    published is the file checked. Nothing is written when a check fails."""
    runtime.configure_torch(torch.device("cpu"), threads)
    with files.atomic_path(model_path) as copy:
        shutil.copyfile(source, copy)
        if (found := files.file_hash(copy)) != sha256:
            raise ValueError(files.pin_mismatch(key, source, found, sha256))
        try:
            classifier = load_classifier(copy)
        except (files.CheckpointError, RuntimeError) as error:
            raise ValueError(
                f"classifier: {source} ({key}.file) is not a classifier this workflow trained: {error}"
            ) from None
        test_images, test_labels = data.load_split(test_path)
        accuracy = test_accuracy(classifier, test_images, test_labels)
        check_floor(accuracy, test_path, min_accuracy, floor_key, f"pin another ({key})")
    return write_info(info_path, model_path, accuracy, len(test_labels), pinned_from=Path(source).name)


def check_floor(accuracy: float, test_path: str, min_accuracy: float, floor_key: str, remedy: str) -> None:
    if accuracy < min_accuracy:
        raise ValueError(
            f"classifier: test accuracy {accuracy:.2%} on {test_path} is below the floor of {min_accuracy:.2%} "
            f"({floor_key}), so scores made with it would mislead; {remedy} or lower the floor if this dataset "
            "cannot do better"
        )


def write_info(info_path: str, model_path: str, accuracy: float, test_size: int, **extra) -> dict:
    """classifier.json: the file's hash and test accuracy, which every score made with it records."""
    info = files.provenance(test_accuracy=accuracy, test_size=test_size, sha256=files.file_hash(model_path), **extra)
    files.write_json(info_path, info)
    log.info("classifier: test accuracy %.4f on %d held-out images", accuracy, test_size)
    return info


@torch.no_grad()
def test_accuracy(classifier: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    _, probs = features_and_probs(classifier, images)
    return float((probs.argmax(1).cpu() == labels.cpu()).double().mean())


def load_classifier(path: str) -> FeatureClassifier:
    state = files.load_torch(path)
    if not isinstance(state, dict):
        raise files.CheckpointError(f"{path} holds a {type(state).__name__}, not a classifier's state_dict")
    classifier = FeatureClassifier()
    classifier.load_state_dict(state)
    return classifier.eval()
