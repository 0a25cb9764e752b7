"""Atomic writes, hashes, safe checkpoint loading and provenance.

Every file the workflow makes is written to a temporary name beside its target and renamed into
place, so a killed job never leaves a file that looks complete but is not.
"""

import contextlib
import errno
import hashlib
import io
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator


def _file_mode() -> int:
    """What open() would give a new file under the current umask (mkstemp gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class WriteError(OSError):
    """This machine could not write or publish a file (a full disk, no inodes left, a folder it may not write): the
    path is named, and no other source of the data would do better."""


# Errors some file systems give for an fsync of a folder they cannot sync (network and FUSE mounts): the folder's
# sync is advisory there, as PostgreSQL and SQLite treat it, while a file's own sync must succeed.
FOLDER_SYNC_UNSUPPORTED = {errno.EINVAL, errno.EBADF, errno.EISDIR, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


def sync_to_disk(path: str | os.PathLike) -> None:
    """fsync of a file, so that what a rename publishes survives a crash of the machine, not only of the process:
    without it, a node that loses power can come back with the new name on an empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_folder(path: str | os.PathLike) -> None:
    """fsync of a folder (the names in it, after a rename), where the file system supports it."""
    try:
        sync_to_disk(path)
    except OSError as error:
        if error.errno not in FOLDER_SYNC_UNSUPPORTED:
            raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path in the target's folder; on success, syncs it to disk, renames it onto the target and
    syncs the folder (about a millisecond a file on a local disk)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as error:
        raise WriteError(f"cannot write {target}: {error}") from error
    try:
        yield Path(tmp)
        try:
            os.chmod(tmp, _file_mode())
            sync_to_disk(tmp)  # a full disk on a network file system often shows here, not at the write
            os.replace(tmp, target)
            sync_folder(target.parent)
        except OSError as error:
            raise WriteError(f"cannot write {target}: {error}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_csv(path: str | os.PathLike, frame) -> None:
    """Writes a pandas DataFrame atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_npy(path: str | os.PathLike, array) -> None:
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, array)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    import torch

    # Through a buffer: torch.save names the archive after the file, and a random temporary
    # name would make identical checkpoints differ byte for byte.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


class CheckpointError(RuntimeError):
    pass


def load_torch(path: str | os.PathLike, map_location="cpu") -> Any:
    """Loads tensors and plain containers only (weights_only=True): never unpickles code.

    CheckpointError means the file's content is not such a file (truncated, foreign, damaged). A file that cannot be
    read at all (missing, a lost network file handle, an I/O error) raises the OSError itself: that says nothing
    about the content, and a caller that discards damaged files must not discard this one."""
    import torch

    with open(path, "rb") as handle:
        content = handle.read()
    try:
        return torch.load(io.BytesIO(content), map_location=map_location, weights_only=True)
    except MemoryError:
        raise
    except Exception as error:  # torch raises several types for truncated or foreign files (an OSError among them)
        raise CheckpointError(f"cannot load {path}: not a valid weights-only torch file ({error})") from error


def file_hash(path: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file, read in chunks (datasets can be larger than memory wants)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pin_mismatch(key: str, path: str | os.PathLike, found: str, pinned: str) -> str:
    """What is wrong when the file a config key pins ({key: {file, sha256}}) has another SHA-256: said alike where
    the config is checked and where a job checks its copy (the file may change in between)."""
    return (
        f"{key}.sha256: {path} has SHA-256 {found}, but the config pins {pinned}; point {key}.file at the pinned "
        "file, or pin this one if it is the file you mean"
    )


def git_commit(directory: str | os.PathLike) -> str | None:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def package_versions(*names: str) -> dict[str, str | None]:
    from importlib import metadata

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# The instruction sets that decide which kernels oneDNN and MKL pick, and so a CPU's float results.
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, str]:
    """The first processor's entries of Linux's cpuinfo ({} where there is none)."""
    entries: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                entries[key.strip()] = value.strip()
    except OSError:
        pass
    return entries


def cpu_description(path: str = "/proc/cpuinfo") -> dict[str, Any]:
    """The CPU and the instruction sets torch's kernels use on it: results are bit-reproducible per CPU type and
    build, as oneDNN and MKL pick kernels by instruction set (AVX-512 or AVX2 in fp32; AMX or AVX-512 bf16 in
    bf16)."""
    import torch

    entries = cpuinfo(path)
    flags = set(entries.get("flags", "").split())
    return {
        "model": entries.get("model name") or platform.processor() or None,
        "vendor": entries.get("vendor_id"),
        "family_model": f"{entries['cpu family']}/{entries['model']}" if "cpu family" in entries else None,
        "features": [name for name in CPU_FEATURES if name in flags],
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
    }


def provenance(**extra: Any) -> dict[str, Any]:
    """What is needed to reproduce an output: versions, platform and CPU, commit, plus the caller's settings."""
    return {
        "versions": package_versions("torch", "torchvision", "numpy", "snakemake"),
        "platform": platform.platform(),
        "cpu": cpu_description(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        **extra,
    }
