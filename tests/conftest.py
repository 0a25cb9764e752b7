import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
# The benchmark scripts, importable by name; after the installed packages, so that none of them shadows one.
sys.path.append(str(REPO / "benchmarks"))


@pytest.fixture(autouse=True)
def subnormals_kept():
    """Each test starts with torch's own arithmetic: training a TensorFlow preset leaves its process flushing
    subnormal floats to zero (a job's process trains one run)."""
    yield
    if "torch" in sys.modules:
        sys.modules["torch"].set_flush_denormal(False)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def resolved_run(preset: str, **settings) -> dict:
    """A run of one preset as the workflow resolves it, on the CPU (where results are bit-reproducible) unless
    settings say otherwise; the one helper every test that trains or scores a run builds it with."""
    from genzoo import config

    return config.standalone_run(preset, "r", **{"device": "cpu", **settings})


@pytest.fixture(scope="session")
def mnist_5k_splits(tmp_path_factory):
    """The embedded digits, fetched and normalized once for every test that needs real images."""
    from genzoo import data, sources

    root = tmp_path_factory.mktemp("mnist-5k")
    sources.fetch("mnist-5k", root / "raw")
    stats = data.normalize("mnist-5k", root / "raw", root / "train.pt", root / "test.pt", root / "stats.json", 1000, 0)
    return {"root": root, "train": root / "train.pt", "test": root / "test.pt", "stats": stats}


@pytest.fixture(scope="session")
def first_train_images(mnist_5k_splits, tmp_path_factory):
    """Makes a split file of the first n embedded training digits: first_train_images(n) -> path."""
    from genzoo import data, files

    images, labels = data.load_split(mnist_5k_splits["train"])

    def make(count: int) -> Path:
        path = tmp_path_factory.mktemp(f"first-{count}") / "train.pt"
        files.save_torch(path, {"images": images[:count], "labels": labels[:count]})
        return path

    return make


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """Local copies of full MNIST and Fashion-MNIST: a folder holding mnist/ and fashion-mnist/, each with the four
    gzipped IDX files, named by GENZOO_DATASETS (the Makefile points it at ../shared/data beside the checkout when
    that folder exists). Tests that need it skip without it."""
    folder = Path(os.environ.get("GENZOO_DATASETS") or "/nonexistent")
    if not all((folder / source).is_dir() for source in ("mnist", "fashion-mnist")):
        pytest.skip("no full MNIST / Fashion-MNIST: set GENZOO_DATASETS to a folder with mnist/ and fashion-mnist/")
    return folder
