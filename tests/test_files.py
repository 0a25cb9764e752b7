import os
import stat

import pytest
import torch
from genzoo import files


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_the_target_with_normal_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    files.write_text(target, "new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_identical_checkpoints_are_identical_files(tmp_path):
    state = {"w": torch.arange(6.0)}
    files.save_torch(tmp_path / "a.pt", state)
    files.save_torch(tmp_path / "b.pt", state)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


def test_truncated_checkpoint_is_named_in_the_error(tmp_path):
    path = tmp_path / "epoch_0003.pt"
    files.save_torch(path, {"w": torch.zeros(1000)})
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(files.CheckpointError, match=r"cannot load .*epoch_0003\.pt"):
        files.load_torch(path)


def test_checkpoints_holding_code_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"callable": os.getcwd}, path)
    with pytest.raises(files.CheckpointError, match="not a valid weights-only torch file"):
        files.load_torch(path)


def test_a_job_stopped_with_sigterm_unwinds_and_leaves_no_temporary_file(repo, tmp_path):
    """scancel, a cluster's time limit or Snakemake stopping a job send SIGTERM: the scripts' common setup turns it
    into an interrupt, so an unfinished atomic write removes its temporary file."""
    import subprocess
    import sys

    scripts, out = repo / "workflow" / "scripts", tmp_path / "out"
    out.mkdir()
    code = f"""
import os, signal, sys, time, types
sys.path.insert(0, {str(scripts)!r})
import script_setup
script_setup.setup(types.SimpleNamespace(scriptdir={str(scripts)!r}, log=[]))
from genzoo import files
with files.atomic_path({str(out / "result.bin")!r}) as tmp:
    tmp.write_bytes(b"half of it")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "KeyboardInterrupt: stopped by signal 15" in result.stderr
    assert list(out.iterdir()) == []


def test_a_file_that_cannot_be_read_is_not_called_damaged(tmp_path):
    """Only content that is not a weights-only torch file is a CheckpointError (callers discard such files); a read
    error is raised as it is."""
    with pytest.raises(IsADirectoryError):
        files.load_torch(tmp_path)
    with pytest.raises(FileNotFoundError):
        files.load_torch(tmp_path / "missing.pt")


def test_an_atomic_write_is_synced_to_disk_before_and_after_its_rename(tmp_path, monkeypatch):
    """The temporary file before it takes the target's name, the folder after: a crash of the machine then finds the
    old file or the whole new one."""
    synced = []
    real_sync = files.sync_to_disk
    monkeypatch.setattr(files, "sync_to_disk", lambda path: synced.append(str(path)) or real_sync(path))
    files.write_text(tmp_path / "result.txt", "done")
    assert len(synced) == 2 and synced[0].startswith(str(tmp_path / ".result.txt.")) and synced[1] == str(tmp_path)
    assert (tmp_path / "result.txt").read_text() == "done"


def test_a_folder_that_cannot_be_synced_is_written_to_and_a_file_that_cannot_be_synced_is_not(tmp_path, monkeypatch):
    """Some network and FUSE file systems refuse an fsync of a folder (EINVAL): that sync is advisory. A file's own
    sync failing (a full disk on NFS shows there) fails the write, naming the target, and leaves nothing."""
    import errno

    real_sync = files.sync_to_disk

    def refusing(kind: str, code: int):
        def sync(path):
            if os.path.isdir(path) == (kind == "folder"):
                raise OSError(code, os.strerror(code))
            real_sync(path)

        return sync

    monkeypatch.setattr(files, "sync_to_disk", refusing("folder", errno.EINVAL))
    files.write_text(tmp_path / "kept.txt", "done")
    assert (tmp_path / "kept.txt").read_text() == "done"
    monkeypatch.setattr(files, "sync_to_disk", refusing("file", errno.ENOSPC))
    with pytest.raises(files.WriteError, match=r"cannot write .*lost\.txt: \[Errno 28\]"):
        files.write_text(tmp_path / "lost.txt", "half")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse4_2 avx2 avx512f avx512_bf16 avx512vl

processor\t: 1
model name\t: another core's line, not read
"""


def test_provenance_names_the_cpu_type_and_the_instruction_sets_that_pick_its_kernels(tmp_path):
    (tmp_path / "cpuinfo").write_text(CPUINFO)
    assert files.cpu_description(str(tmp_path / "cpuinfo")) == {
        "model": "AMD EPYC 9R14 96-Core Processor",
        "vendor": "AuthenticAMD",
        "family_model": "25/17",
        "features": ["avx2", "avx512f", "avx512_bf16"],  # of CPU_FEATURES, in its order; avx512vl is not one
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
    }
    missing = files.cpu_description(str(tmp_path / "none"))
    assert (missing["vendor"], missing["family_model"], missing["features"]) == (None, None, [])
    assert files.provenance(x=1)["cpu"] == files.cpu_description() and files.provenance(x=1)["x"] == 1
