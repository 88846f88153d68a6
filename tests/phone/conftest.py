"""Fixtures: an emulated phone per test (tests/phone/emulator.py), a client config that keeps
its ADB key in tmp (never ~/.android), the stand-in runner file, and one tiny .pte per session."""
from __future__ import annotations

import pytest

from mnas_core.phone.adb import ConnectConfig
from .emulator import EmulatedPhone
from .fake_shell import STANDIN_RUNNER, Faults, PhoneProfile


@pytest.fixture
def emulate(tmp_path):
    """emulate(faults=..., profile=...) -> a started EmulatedPhone, stopped after the test."""
    started = []

    def start(faults: Faults | None = None, profile: PhoneProfile | None = None):
        em = EmulatedPhone(tmp_path / f"phone{len(started)}", profile, faults).start()
        started.append(em)
        return em

    yield start
    for em in started:
        em.stop()


def client_config(em: EmulatedPhone, tmp_path, **kw) -> ConnectConfig:
    # Short timeouts: every fault must fail fast, never hang the suite.
    opts = dict(host="127.0.0.1", port=em.port, key_path=str(tmp_path / "keys" / "adbkey"),
                connect_timeout_s=5.0, auth_timeout_s=2.0, command_timeout_s=10.0,
                push_timeout_s=10.0)
    opts.update(kw)
    return ConnectConfig(**opts)


@pytest.fixture
def runner_file(tmp_path):
    path = tmp_path / "executor_runner"
    path.write_bytes(STANDIN_RUNNER)
    return path


@pytest.fixture(scope="session")
def tiny_pte(tmp_path_factory):
    """A real ExecuTorch XNNPACK program of a one-block network (export takes a few seconds)."""
    from mnas_core.arch import parse_arch
    from mnas_core.latency.export import export_pte
    arch = parse_arch("r1_k3_s11_e1_i32_o16;resolution=32;num_classes=10")
    return export_pte(arch, tmp_path_factory.mktemp("pte") / "tiny.pte")
