"""The emulated phone speaks real ADB: Debian's `adb` client connects, pushes and runs a shell
command. The adb server runs on a private port with HOME in tmp, so it touches neither a user's
adb server nor ~/.android."""
import os
import shutil
import socket
import subprocess
import time

import pytest

from .fake_shell import STANDIN_RUNNER

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(shutil.which("adb") is None,
                                 reason="the adb binary is absent (apt-get install adb; "
                                        ".ci/run installs it)")]


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_debian_adb_client_connects_pushes_and_runs_a_shell_command(emulate, tmp_path):
    em = emulate()
    serial = f"127.0.0.1:{em.port}"
    env = dict(os.environ, HOME=str(tmp_path), ANDROID_SDK_HOME=str(tmp_path),
               ANDROID_USER_HOME=str(tmp_path / ".android"), ADB_VENDOR_KEYS="")
    base = ["adb", "-P", str(_free_port())]

    def adb(*args, timeout=20):
        return subprocess.run(base + list(args), env=env, capture_output=True, text=True,
                              timeout=timeout)

    try:
        assert adb("start-server").returncode == 0
        adb("connect", serial)  # may say "failed to authenticate" until the key is allowed
        for _ in range(50):
            if f"{serial}\tdevice" in adb("devices").stdout:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"adb never saw the emulated phone: {adb('devices').stdout!r}")
        assert len(em.authorized) == 1  # adb's own key went through AUTH RSAPUBLICKEY

        src = tmp_path / "runner"
        src.write_bytes(STANDIN_RUNNER + os.urandom(200_000))
        res = adb("-s", serial, "push", str(src), "/data/local/tmp/adbtest/runner")
        assert res.returncode == 0, res.stderr
        assert em.file("/data/local/tmp/adbtest/runner").read_bytes() == src.read_bytes()

        res = adb("-s", serial, "shell", "getprop ro.product.model; ls /data/local/tmp/adbtest")
        assert res.returncode == 0 and res.stdout.split() == ["Pixel", "runner"]

        res = adb("-s", serial, "pull", "/data/local/tmp/adbtest/runner", str(tmp_path / "back"))
        assert res.returncode == 0, res.stderr
        assert (tmp_path / "back").read_bytes() == src.read_bytes()
    finally:
        adb("kill-server")
