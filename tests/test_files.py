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
