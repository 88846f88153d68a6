import os

import pytest

# Every process that trains or measures should run with glibc's malloc tuned (see
# mnas_core/runtime.py); `make test` sets it, this keeps a bare `pytest` run honest too.
os.environ.setdefault("MNAS_NO_REEXEC", "1")


@pytest.fixture(autouse=True)
def _torch_threads():
    """Tests share a 2-core machine; one intra-op thread keeps them from oversubscribing."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def read_only_view(tmp_path):
    """(folder, view): files written into `folder` appear in `view`, which nobody may write,
    root included. As root: a read-only bind mount (the tests' CI runs as root, where a
    chmod stops nothing); otherwise the folder itself, chmod 555."""
    import shutil
    import subprocess

    folder = tmp_path / "src"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder, folder
        folder.chmod(0o755)
        return
    view = tmp_path / "ro"
    view.mkdir()
    mount = shutil.which("mount")
    ok = mount and subprocess.run([mount, "--bind", "-o", "ro", str(folder), str(view)],
                                  capture_output=True, timeout=30).returncode == 0
    if not ok or os.access(view, os.W_OK) and _writable(view):
        if ok:
            subprocess.run(["umount", str(view)], timeout=30)
        pytest.skip("cannot make a read-only bind mount here (mount --bind -o ro failed)")
    try:
        yield folder, view
    finally:
        subprocess.run(["umount", str(view)], timeout=30)


def _writable(folder) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True
