"""Normalization of the raw files, and loading a split onto a device (genzoo.sources fetches the files).

Canonical form after `normalize`: one torch file per split holding `images` (N, 1, 28, 28) float32
in [0, 1] (what torchvision's ToTensor gives every reference) and `labels` (N,) int64. Presets
rescale on the device when they load a split.
"""

import json
import logging
from pathlib import Path

from . import files

log = logging.getLogger(__name__)

SOURCES = ("mnist-5k", "mnist", "fashion-mnist")
IMAGE_SIZE = 28  # every source is normalized to 28 x 28; presets that want another size resize at load
NUM_CLASSES = 10  # digits, and Fashion-MNIST's ten garment classes
# The raw files that genzoo.sources fetches (it names them too: neither module imports the other, so that
# training, which reads data, does not rerun when a mirror or checksum changes; a test keeps the names equal).
EMBEDDED_MNIST_5K = "mnist_5k.csv.gz"
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_embedded_mnist_5k(raw_dir: Path):
    import numpy as np

    table = np.loadtxt(raw_dir / EMBEDDED_MNIST_5K, delimiter=",", dtype=np.int64)
    return table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), table[:, -1]


def read_idx_split(raw_dir: Path, split: str):
    from torchvision.datasets.mnist import read_image_file, read_label_file

    images_file, labels_file = IDX_FILES[split]
    return read_image_file(str(raw_dir / images_file)).numpy(), read_label_file(str(raw_dir / labels_file)).numpy()


def held_out_split(n: int, test_size: int, seed: int):
    """A fixed permutation: its first test_size indices are held out, the rest train.

    Both keep the permutation's order: the packaged file is sorted by digit, so the first N of a
    split (train_subset, or a score's first n real images) must still be a random sample.
    """
    import numpy as np

    if not 0 < test_size < n:
        raise ValueError(f"test_size must be between 1 and {n - 1}, got {test_size}")
    order = np.random.default_rng(seed).permutation(n)
    return order[test_size:], order[:test_size]


def split_stats(images, labels) -> dict:
    import numpy as np

    pixels = images.astype(np.float64) / 255.0
    return {
        "count": int(len(labels)),
        "per_class": {str(c): int((labels == c).sum()) for c in range(10)},
        "mean": float(pixels.mean()),
        "std": float(pixels.std()),
        "min": float(pixels.min()),
        "max": float(pixels.max()),
    }


def save_split(path: str | Path, images, labels) -> None:
    import torch

    tensors = {
        "images": torch.from_numpy(images).float().div_(255.0).unsqueeze(1),
        "labels": torch.from_numpy(labels).long(),
    }
    files.save_torch(path, tensors)


def normalize(
    source: str,
    raw_dir: str | Path,
    train_path: str,
    test_path: str,
    stats_path: str,
    test_size: int,
    split_seed: int,
    train_subset: int | None = None,
) -> dict:
    """Writes the canonical train/test tensors and their stats; train_subset keeps the first N train images.
    test_size and split_seed make mnist-5k's held-out split (the other sources come with a test set)."""
    raw_dir = Path(raw_dir)
    if source == "mnist-5k":
        images, labels = read_embedded_mnist_5k(raw_dir)
        train_index, test_index = held_out_split(len(labels), test_size, split_seed)
        splits = {"train": (images[train_index], labels[train_index]), "test": (images[test_index], labels[test_index])}
    else:
        splits = {split: read_idx_split(raw_dir, split) for split in ("train", "test")}
    if train_subset is not None:
        images, labels = splits["train"]
        splits["train"] = (images[:train_subset], labels[:train_subset])
    stats = {"source": source, **{split: split_stats(*arrays) for split, arrays in splits.items()}}
    for split, path in (("train", train_path), ("test", test_path)):
        save_split(path, *splits[split])
        stats[split]["sha256"] = files.file_hash(path)  # every job that loads the split checks it against this
        log.info("%s: %d images -> %s", split, len(splits[split][1]), path)
    files.write_json(stats_path, stats)
    return stats


STATS_FILE = "stats.json"


class DamagedData(ValueError):
    """A normalized split that is not what normalize wrote, or holds values no image can have."""


def remedy(path: Path) -> str:
    return f"make it again: delete {path.parent} (or run snakemake --forcerun normalize) and run snakemake"


def check_split(path: Path, images, labels) -> None:
    """The split's file hash against the one normalize recorded beside it (when it did), and its values: finite
    pixels in [0, 1], labels among the classes. The message says how to make the file again."""
    stats_path = path.parent / STATS_FILE
    if stats_path.exists():
        recorded = json.loads(stats_path.read_text()).get(path.stem, {}).get("sha256")
        actual = files.file_hash(path)
        if recorded is not None and actual != recorded:
            raise DamagedData(
                f"{path} is damaged: sha256 {actual}, but normalize recorded {recorded} in {stats_path}; {remedy(path)}"
            )
    if not bool(images.isfinite().all()) or float(images.min()) < 0 or float(images.max()) > 1:
        raise DamagedData(f"{path} holds pixels that are not finite values in [0, 1]; {remedy(path)}")
    if len(labels) != len(images) or int(labels.min()) < 0 or int(labels.max()) >= NUM_CLASSES:
        raise DamagedData(
            f"{path}: labels do not match the images or are not among the {NUM_CLASSES} classes; {remedy(path)}"
        )


PIXEL_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def load_split(path: str | Path, device="cpu", pixel_range: str = "sigmoid"):
    """Returns (images, labels) on the device, images rescaled from [0, 1] to the preset's range, after checking
    the file is the one normalize wrote (check_split)."""
    path = Path(path)
    try:
        data = files.load_torch(path)
    except files.CheckpointError as error:  # truncated or not a torch file at all
        raise DamagedData(f"{error}; {remedy(path)}") from error
    check_split(path, data["images"], data["labels"])
    return from_unit_range(data["images"].to(device), pixel_range), data["labels"].to(device)


def from_unit_range(images, pixel_range: str):
    """Maps images from [0, 1] to a preset's pixel range."""
    low, high = PIXEL_RANGES[pixel_range]
    return images * (high - low) + low


def resized(images, size: int):
    """Square images at size x size pixels (bilinear, antialiased when shrinking); unchanged at their own size.

    The 32-pixel presets' references resize each digit with torchvision's Resize; this does it once per split.
    """
    if images.shape[-1] == size:
        return images
    import torch.nn.functional as F

    return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def to_unit_range(images, pixel_range: str):
    """Maps images from a preset's pixel range back to [0, 1]."""
    low, high = PIXEL_RANGES[pixel_range]
    return ((images - low) / (high - low)).clamp(0.0, 1.0)
