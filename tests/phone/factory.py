"""A PhoneLatency on an emulated phone, for the latency contract suite
(tests/latency/test_contract.py). The emulator stops when the source is garbage-collected."""
from __future__ import annotations

import weakref

from mnas_core.phone import ConnectConfig, PhoneConfig, PhoneLatency, RunConfig
from mnas_core.phone.adb import load_or_create_key
from .emulator import EmulatedPhone
from .fake_shell import STANDIN_RUNNER


def make_phone(tmp_path) -> PhoneLatency:
    em = EmulatedPhone(tmp_path / "phone").start()
    runner = tmp_path / "executor_runner"
    runner.write_bytes(STANDIN_RUNNER)
    key = tmp_path / "adbkey"
    load_or_create_key(key)  # made now, so fingerprint() creates no file
    cfg = PhoneConfig(
        connect=ConnectConfig(host="127.0.0.1", port=em.port, key_path=str(key),
                              connect_timeout_s=5, auth_timeout_s=2, command_timeout_s=30),
        run=RunConfig(runner_local=str(runner), runs=3, warmup=1),
        db_path=str(tmp_path / "lat.db"),
        # Shared by the session's tests: the same architecture is exported once (~15-35 s).
        work_dir=str(tmp_path.parent / "phone-pte-cache"))
    source = PhoneLatency(cfg)
    weakref.finalize(source, em.stop)
    return source
