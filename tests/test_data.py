import json

import numpy as np
import pytest
import torch
from genzoo import data, files


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
        "mnist-5k", root / "raw", tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "s.json", 1000, 0, train_subset=100
    )
    assert stats["train"]["count"] == 100 and stats["test"]["count"] == 1000
    full, _ = data.load_split(mnist_5k_splits["train"])
    subset, _ = data.load_split(tmp_path / "a.pt")
    torch.testing.assert_close(subset, full[:100])


def test_held_out_split_rejects_impossible_sizes():
    with pytest.raises(ValueError, match="test_size must be between 1 and 4999, got 5000"):
        data.held_out_split(5000, 5000, 0)


@pytest.fixture
def normalized(mnist_5k_splits, tmp_path):
    """A fresh normalize of the embedded digits into its own folder, to damage."""
    root = mnist_5k_splits["root"]
    paths = {name: tmp_path / "data" / name for name in ("train.pt", "test.pt", "stats.json")}
    paths["train.pt"].parent.mkdir()
    data.normalize("mnist-5k", root / "raw", paths["train.pt"], paths["test.pt"], paths["stats.json"], 1000, 0)
    return paths


def test_a_damaged_but_readable_split_is_refused_with_both_hashes_and_the_remedy(normalized):
    """The issue's case: 15 KB overwritten inside train.pt, its size unchanged, still a loadable torch file."""
    train = normalized["train.pt"]
    data.load_split(train)  # as written: fine
    content = bytearray(train.read_bytes())
    offset = len(content) // 2
    content[offset : offset + 15_000] = bytes(15_000)
    train.write_bytes(bytes(content))
    recorded = json.loads(normalized["stats.json"].read_text())["train"]["sha256"]
    with pytest.raises(data.DamagedData) as error:
        data.load_split(train)
    message = str(error.value)
    assert f"{train} is damaged: sha256 " in message and f"but normalize recorded {recorded}" in message
    assert "snakemake --forcerun normalize" in message


def test_a_truncated_split_says_to_make_it_again(normalized):
    train = normalized["train.pt"]
    train.write_bytes(train.read_bytes()[:4096])
    with pytest.raises(data.DamagedData, match=r"cannot load .*train\.pt.*delete .* --forcerun normalize"):
        data.load_split(train)


def test_a_split_with_impossible_pixels_is_refused_even_without_stats(tmp_path):
    path = tmp_path / "train.pt"
    images = torch.rand(4, 1, 28, 28)
    images[1, 0, 3, 3] = float("nan")
    files.save_torch(path, {"images": images, "labels": torch.zeros(4, dtype=torch.long)})
    with pytest.raises(data.DamagedData, match="not finite values in"):
        data.load_split(path)
