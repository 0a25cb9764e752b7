import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch
from genzoo import data


def test_embedded_split_is_fixed_disjoint_and_complete(mnist_5k_splits):
    stats = mnist_5k_splits["stats"]
    assert stats["train"]["count"] == 4000 and stats["test"]["count"] == 1000
    assert sum(stats["test"]["per_class"].values()) == 1000
    assert all(count > 50 for count in stats["test"]["per_class"].values())
    train_index, test_index = data.held_out_split(5000, 1000, 0)
    again_train, again_test = data.held_out_split(5000, 1000, 0)
    assert np.array_equal(train_index, again_train) and np.array_equal(test_index, again_test)
    assert not set(train_index) & set(test_index)
    assert len(set(train_index) | set(test_index)) == 5000


def test_normalized_split_is_float_in_unit_range(mnist_5k_splits):
    images, labels = data.load_split(mnist_5k_splits["train"])
    assert images.shape == (4000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and set(labels.tolist()) == set(range(10))
    assert images.min() == 0.0 and images.max() == 1.0
    stats = mnist_5k_splits["stats"]["train"]
    assert stats["mean"] == pytest.approx(float(images.double().mean()), abs=1e-6)
    assert stats["std"] == pytest.approx(float(images.double().std()), abs=1e-4)


def test_load_split_rescales_to_the_presets_range(mnist_5k_splits):
    unit, _ = data.load_split(mnist_5k_splits["test"], pixel_range="sigmoid")
    tanh, _ = data.load_split(mnist_5k_splits["test"], pixel_range="tanh")
    assert tanh.min() == -1.0 and tanh.max() == 1.0
    torch.testing.assert_close(tanh, unit * 2 - 1)
    torch.testing.assert_close(data.to_unit_range(tanh, "tanh"), unit)


def test_splits_are_not_sorted_by_digit(mnist_5k_splits):
    """The packaged file is sorted by digit; a subset of the first images must still hold every digit."""
    _, labels = data.load_split(mnist_5k_splits["train"])
    assert set(labels[:100].tolist()) == set(range(10))


def test_train_subset_keeps_the_first_images(mnist_5k_splits, tmp_path):
    root = mnist_5k_splits["root"]
    stats = data.normalize(
        "mnist-5k", root / "raw", tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "s.json", train_subset=100
    )
    assert stats["train"]["count"] == 100 and stats["test"]["count"] == 1000
    full, _ = data.load_split(mnist_5k_splits["train"])
    subset, _ = data.load_split(tmp_path / "a.pt")
    torch.testing.assert_close(subset, full[:100])


def test_held_out_split_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="test_size must be between 1 and 4999, got 5000"):
        data.held_out_split(5000, 5000, 0)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file as LeCun's format defines it: magic (dtype 0x08, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def mirror(tmp_path):
    """A local HTTP server serving small gzipped IDX files, plus their (filename, md5) resources."""
    rng = np.random.default_rng(0)
    served = tmp_path / "served"
    served.mkdir()
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(30) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(20) % 10,
    }
    resources = []
    for name, array in arrays.items():
        packed = gzip.compress(idx_bytes(array))
        (served / f"{name}.gz").write_bytes(packed)
        resources.append((f"{name}.gz", hashlib.md5(packed).hexdigest()))

    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(served))  # noqa: E731
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/", "resources": resources, "arrays": arrays}
    server.shutdown()
    server.server_close()


def test_download_from_a_mirror_checks_md5_and_normalizes(mirror, tmp_path):
    raw = tmp_path / "raw"
    data.download_idx("mnist", raw, mirrors=[mirror["url"]], resources=mirror["resources"])
    assert sorted(p.name for p in raw.iterdir()) == sorted(mirror["arrays"])
    stats = data.normalize("mnist", raw, tmp_path / "train.pt", tmp_path / "test.pt", tmp_path / "stats.json")
    assert stats["train"]["count"] == 30 and stats["test"]["count"] == 20
    images, labels = data.load_split(tmp_path / "train.pt")
    expected = torch.from_numpy(mirror["arrays"]["train-images-idx3-ubyte"]).float().div(255).unsqueeze(1)
    torch.testing.assert_close(images, expected)
    assert labels.tolist() == (np.arange(30) % 10).tolist()


def test_checksum_mismatch_names_the_file_and_leaves_nothing(mirror, tmp_path):
    name, _ = mirror["resources"][0]
    bad = [(name, "0" * 32)] + mirror["resources"][1:]
    raw = tmp_path / "raw"
    with pytest.raises(data.DownloadError) as error:
        data.download_idx("mnist", raw, mirrors=[mirror["url"]], resources=bad)
    message = str(error.value)
    assert name in message and "expected md5 " + "0" * 32 in message and mirror["resources"][0][1] in message
    assert list(raw.iterdir()) == []


def test_unreachable_mirror_fails_with_every_url_tried(tmp_path):
    with pytest.raises(data.DownloadError, match=r"could not download train-images-idx3-ubyte.gz for mnist"):
        data.download_idx("mnist", tmp_path / "raw", mirrors=["http://127.0.0.1:9/"])


def test_torchvision_resources_are_the_official_checksums():
    mirrors, resources = data.torchvision_resources("mnist")
    assert ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873") in resources
    assert len(resources) == 4 and mirrors
