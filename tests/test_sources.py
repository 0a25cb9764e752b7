"""Fetching datasets from mirrors (HTTP, file:// URLs, folders), checked by archive MD5 or content SHA-256."""

import gzip
import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from genzoo import data, sources

IDX_NAMES = [name for split in data.IDX_FILES.values() for name in split]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file as LeCun's format defines it: magic (dtype 0x08, ndim), big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def small_dataset(tmp_path, monkeypatch):
    """A small dataset in IDX form registered as 'mnist': its official archives (with their md5s) in a folder."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (30, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(30) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(20) % 10,
    }
    official = tmp_path / "official"
    official.mkdir()
    files = []
    for name, array in arrays.items():
        content = idx_bytes(array)
        archive = gzip.compress(content, compresslevel=9, mtime=0)
        (official / f"{name}.gz").write_bytes(archive)
        md5, sha256 = hashlib.md5(archive).hexdigest(), hashlib.sha256(content).hexdigest()
        files.append(sources.KnownFile(name, md5, sha256, len(content)))
    unreachable = sources.Dataset(mirrors=("http://127.0.0.1:9/",), files=tuple(files))
    monkeypatch.setitem(sources.DATASETS, "mnist", unreachable)
    return {"official": official, "arrays": arrays, "files": files}


@pytest.fixture
def http_mirror(small_dataset):
    """A local HTTP server on 127.0.0.1 serving the official archives."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(small_dataset["official"]), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def recompressed_copy(small_dataset, folder: Path) -> Path:
    """The same content gzipped differently (level 1, another mtime): other archive md5s, same data."""
    folder.mkdir()
    for name in IDX_NAMES:
        content = gzip.decompress((small_dataset["official"] / f"{name}.gz").read_bytes())
        (folder / f"{name}.gz").write_bytes(gzip.compress(content, compresslevel=1, mtime=12345))
    return folder


def test_http_mirror_is_checked_by_md5_and_normalizes(small_dataset, http_mirror, tmp_path):
    raw = tmp_path / "raw"
    records = sources.fetch("mnist", raw, [http_mirror])
    assert sorted(p.name for p in raw.iterdir()) == sorted([*IDX_NAMES, sources.CHECKSUM_FILE])
    assert [r["verified_by"] for r in records] == ["archive md5"] * 4
    assert records == json.loads((raw / sources.CHECKSUM_FILE).read_text())
    umask = os.umask(0)
    os.umask(umask)
    assert (raw.stat().st_mode & 0o777, (raw / "t10k-labels-idx1-ubyte").stat().st_mode & 0o777) == (
        0o777 & ~umask,
        0o666 & ~umask,
    )
    assert records[0]["from"] == http_mirror + "train-images-idx3-ubyte.gz"
    stats = data.normalize("mnist", raw, tmp_path / "train.pt", tmp_path / "test.pt", tmp_path / "stats.json", 1000, 0)
    assert stats["train"]["count"] == 30 and stats["test"]["count"] == 20
    images, labels = data.load_split(tmp_path / "train.pt")
    expected = torch.from_numpy(small_dataset["arrays"]["train-images-idx3-ubyte"]).float().div(255).unsqueeze(1)
    torch.testing.assert_close(images, expected)
    assert labels.tolist() == (np.arange(30) % 10).tolist()


@pytest.mark.parametrize("as_url", [False, True], ids=["folder", "file-url"])
def test_a_recompressed_copy_is_accepted_by_its_content(small_dataset, tmp_path, as_url):
    copy = recompressed_copy(small_dataset, tmp_path / "shared")
    mirror = copy.as_uri() if as_url else str(copy)
    records = sources.fetch("mnist", tmp_path / "raw", [mirror])
    for record, known in zip(records, small_dataset["files"], strict=True):
        assert record["verified_by"] == "content sha256"
        assert record["archive_md5"] != known.md5 and record["sha256"] == known.sha256
    assert (tmp_path / "raw" / "t10k-labels-idx1-ubyte").read_bytes() == idx_bytes(np.arange(20) % 10)


def test_a_folder_of_decompressed_files_is_accepted(small_dataset, tmp_path):
    """torchvision's MNIST/raw folder holds the decompressed files too."""
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in IDX_NAMES:
        (plain / name).write_bytes(gzip.decompress((small_dataset["official"] / f"{name}.gz").read_bytes()))
    records = sources.fetch("mnist", tmp_path / "raw", [str(plain)])
    assert [r["archive_md5"] for r in records] == [None] * 4
    assert [r["from"] for r in records] == [str(plain / name) for name in IDX_NAMES]


def tamper(folder: Path, name: str) -> None:
    """Changes one pixel and recompresses: a readable archive of the wrong data."""
    path = folder / f"{name}.gz"
    content = bytearray(gzip.decompress(path.read_bytes()))
    content[-1] ^= 0xFF
    path.write_bytes(gzip.compress(bytes(content)))


def test_wrong_content_names_file_mirror_and_both_checksums_and_leaves_nothing(small_dataset, tmp_path):
    copy = recompressed_copy(small_dataset, tmp_path / "shared")
    tamper(copy, "t10k-images-idx3-ubyte")
    out = tmp_path / "out"
    with pytest.raises(sources.DownloadError) as error:
        sources.fetch("mnist", out / "raw", [str(copy)])
    message = str(error.value)
    known = small_dataset["files"][2]
    assert "could not fetch t10k-images-idx3-ubyte for mnist" in message
    assert str(copy / "t10k-images-idx3-ubyte.gz") in message
    assert f"(expected {known.md5})" in message and f"(expected {known.sha256})" in message
    actual_md5 = hashlib.md5((copy / "t10k-images-idx3-ubyte.gz").read_bytes()).hexdigest()
    assert f"archive md5 {actual_md5}" in message
    assert list(out.iterdir()) == []  # neither the raw folder nor its staging folder


def test_a_bad_mirror_falls_through_to_the_next(small_dataset, http_mirror, tmp_path):
    copy = recompressed_copy(small_dataset, tmp_path / "shared")
    tamper(copy, "train-labels-idx1-ubyte")
    records = sources.fetch("mnist", tmp_path / "raw", [str(tmp_path / "missing"), str(copy), http_mirror])
    assert [r["from"].startswith(http_mirror) for r in records] == [False, True, False, False]


def test_a_truncated_archive_is_refused_naming_it(small_dataset, tmp_path):
    copy = recompressed_copy(small_dataset, tmp_path / "shared")
    archive = copy / "train-images-idx3-ubyte.gz"
    archive.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(sources.DownloadError, match=r"train-images-idx3-ubyte.gz is not a complete gzip file"):
        sources.fetch("mnist", tmp_path / "raw", [str(copy)])
    assert not (tmp_path / "raw").exists()


def test_unreachable_mirrors_fail_with_every_one_tried(small_dataset, tmp_path):
    with pytest.raises(sources.DownloadError) as error:
        sources.fetch("mnist", tmp_path / "raw", ["http://127.0.0.1:9/", str(tmp_path / "nowhere")])
    message = str(error.value)
    assert "could not fetch train-images-idx3-ubyte for mnist from any mirror" in message
    assert "http://127.0.0.1:9/" in message and f"{tmp_path / 'nowhere'} is not a folder" in message


def test_a_fetch_replaces_an_earlier_raw_folder_and_a_killed_fetchs_staging_folder(
    small_dataset, http_mirror, tmp_path
):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "stale").write_text("from an earlier fetch")
    (tmp_path / ".raw.x1y2.partial").mkdir()
    sources.fetch("mnist", raw, [http_mirror])
    assert "stale" not in {p.name for p in raw.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official", "raw"]


def test_pins_are_torchvisions_and_name_the_files_normalize_reads():
    from torchvision import datasets

    for source, cls in (("mnist", datasets.MNIST), ("fashion-mnist", datasets.FashionMNIST)):
        pinned = sources.DATASETS[source]
        assert [(f.name + ".gz", f.md5) for f in pinned.files] == list(cls.resources)
        assert list(pinned.mirrors) == list(cls.mirrors)
        assert sorted(f.name for f in pinned.files) == sorted(IDX_NAMES)
        assert all(len(f.sha256) == 64 for f in pinned.files)
        # An IDX file's size follows from its header: 16 bytes and the images, 8 bytes and the labels.
        counts = {"train": 60_000, "t10k": 10_000}
        for known in pinned.files:
            n = counts[known.name.split("-")[0]]
            assert known.size == (16 + n * 28 * 28 if "images" in known.name else 8 + n), known.name
    assert sources.EMBEDDED_MNIST_5K == data.EMBEDDED_MNIST_5K


def test_an_archive_that_decompresses_past_the_known_size_is_refused_as_it_grows(small_dataset, tmp_path):
    """A gzip bomb (or just the wrong file) stops at the first byte past the pinned size, not at the end of it."""
    copy = recompressed_copy(small_dataset, tmp_path / "copy")
    name = "t10k-labels-idx1-ubyte"
    content = gzip.decompress((copy / f"{name}.gz").read_bytes())
    (copy / f"{name}.gz").write_bytes(gzip.compress(content + bytes(50 << 20), compresslevel=9))  # 50 MB of zeros
    with pytest.raises(sources.DownloadError, match=rf"{name}.gz holds more than the {len(content)} bytes"):
        sources.fetch("mnist", tmp_path / "raw", [str(copy)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "official"]


def test_a_folder_whose_archive_is_not_the_data_is_read_from_its_plain_file(small_dataset, tmp_path):
    """torchvision's raw/ folder keeps both: a damaged .gz beside a good decompressed file costs nothing."""
    folder = recompressed_copy(small_dataset, tmp_path / "raw-folder")
    for name in IDX_NAMES:
        (folder / name).write_bytes(gzip.decompress((folder / f"{name}.gz").read_bytes()))
    tamper(folder, "train-labels-idx1-ubyte")
    records = sources.fetch("mnist", tmp_path / "raw", [str(folder)])
    by_file = {record["file"]: record for record in records}
    assert by_file["train-labels-idx1-ubyte"]["from"] == str(folder / "train-labels-idx1-ubyte")
    assert by_file["train-labels-idx1-ubyte"]["verified_by"] == "content sha256"
    assert by_file["t10k-labels-idx1-ubyte"]["from"] == str(folder / "t10k-labels-idx1-ubyte.gz")
    (folder / "train-labels-idx1-ubyte").write_bytes(b"not it either")
    with pytest.raises(sources.DownloadError, match=r"train-labels-idx1-ubyte from .*; and .*\.gz"):
        sources.fetch("mnist", tmp_path / "raw2", [str(folder)])


def test_a_redirected_download_records_where_it_came_from(small_dataset, http_mirror, tmp_path):
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", http_mirror + self.path.lstrip("/"))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        records = sources.fetch("mnist", tmp_path / "raw", [f"http://127.0.0.1:{server.server_address[1]}/"])
    finally:
        server.shutdown()
        server.server_close()
    assert [record["from"] for record in records] == [f"{http_mirror}{name}.gz" for name in IDX_NAMES]


def test_a_write_this_machine_cannot_make_stops_the_fetch_naming_the_path():
    """A full disk is not a mirror's fault: no other mirror is tried, and the error names where writing failed."""
    import io

    with pytest.raises(sources.StagingError, match=r"cannot write /dev/full: .*No space left on device"):
        sources.copy_hashing(io.BytesIO(b"x" * 100), Path("/dev/full"), 1000, "a mirror")
    assert issubclass(sources.StagingError, OSError)  # callers that catch OSError still see it


def test_a_download_still_running_at_its_deadline_is_stopped(small_dataset, tmp_path):
    import io

    archive = (small_dataset["official"] / "t10k-labels-idx1-ubyte.gz").read_bytes()
    with pytest.raises(sources.DownloadError, match=r"http://slow/x.gz took more than -?\d+ s; stopped"):
        sources.read_archive(io.BytesIO(archive), tmp_path / "out", "http://slow/x.gz", 1000, deadline_s=-1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "as_url", "train_counts"),
    [
        ("mnist", False, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]),
        ("fashion-mnist", True, [6000] * 10),
    ],
    ids=["mnist-folder", "fashion-file-url"],
)
def test_the_real_datasets_fetch_from_a_local_copy(datasets_dir, source, as_url, train_counts, tmp_path):
    folder = datasets_dir / source
    records = sources.fetch(source, tmp_path / "raw", [folder.resolve().as_uri() if as_url else str(folder)])
    assert [r["sha256"] for r in records] == [f.sha256 for f in sources.DATASETS[source].files]
    stats = data.normalize(
        source, tmp_path / "raw", tmp_path / "train.pt", tmp_path / "test.pt", tmp_path / "s.json", 1000, 0
    )
    assert [stats["train"]["per_class"][str(c)] for c in range(10)] == train_counts
    assert stats["test"]["count"] == 10_000


@pytest.mark.slow
def test_a_tampered_copy_of_the_real_labels_is_refused(datasets_dir, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in IDX_NAMES:
        (copy / f"{name}.gz").write_bytes((datasets_dir / "mnist" / f"{name}.gz").read_bytes())
    tamper(copy, "t10k-labels-idx1-ubyte")
    with pytest.raises(sources.DownloadError, match=r"t10k-labels-idx1-ubyte from .* is not the expected"):
        sources.fetch("mnist", tmp_path / "raw", [str(copy)])
    assert not (tmp_path / "raw").exists()


def test_a_file_this_machine_cannot_publish_stops_the_fetch_without_trying_other_mirrors(
    small_dataset, http_mirror, tmp_path, monkeypatch
):
    import errno

    from genzoo import files

    def full_disk(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "sync_to_disk", full_disk)  # where NFS reports a full disk
    with pytest.raises(files.WriteError, match=r"cannot write .*train-images-idx3-ubyte: \[Errno 28\]") as error:
        sources.fetch("mnist", tmp_path / "raw", [http_mirror, str(small_dataset["official"])])
    assert "from any mirror" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official"]


def test_two_fetches_into_one_folder_at_once_both_succeed(small_dataset, tmp_path):
    """A second fetch started while the first waits on a slow mirror would sweep the first's staging folder away;
    it waits for the first instead (a lock on the dataset's folder), and both succeed."""
    import time

    class SlowHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(small_dataset["official"]), **kwargs)

        def do_GET(self):
            time.sleep(0.3)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mirror = f"http://127.0.0.1:{server.server_address[1]}/"
    results, errors = [], []

    def fetch():
        try:
            results.append(sources.fetch("mnist", tmp_path / "raw", [mirror]))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    first = threading.Thread(target=fetch)
    first.start()
    time.sleep(0.15)  # the first is waiting on its first file, its staging folder made
    fetch()
    first.join()
    server.shutdown()
    server.server_close()
    assert errors == [] and len(results) == 2 and results[0] == results[1]
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted([*IDX_NAMES, sources.CHECKSUM_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official", "raw"]
