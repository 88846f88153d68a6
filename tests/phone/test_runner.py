"""Device info, big-core pinning, thermal checks and every runner fault, on the emulated phone
with the stand-in executor_runner (which really executes the .pte)."""
import time

import pytest

from mnas_core.phone.adb import AdbPhone, PhoneError
from mnas_core.phone.device import (DeviceInfo, parse_cpu_list, read_device_info, read_thermal)
from mnas_core.phone.runner import REMOTE_DIR, RunConfig, time_model
from .conftest import client_config
from .fake_shell import Faults, PhoneProfile

pytestmark = pytest.mark.timeout(60)


def connect(em, tmp_path, **kw):
    return AdbPhone(client_config(em, tmp_path, **kw)).connect()


def test_device_info_and_big_cores(emulate, tmp_path):
    profile = PhoneProfile(model="SM-G991B", manufacturer="samsung", android="14", sdk=34,
                           cpu_max_khz=(2016000,) * 4 + (2803200,) * 3 + (2900000,))
    with connect(emulate(profile=profile), tmp_path) as phone:
        info = read_device_info(phone)
        thermal = read_thermal(phone, info)
    assert (info.model, info.android, info.sdk, info.abi) == ("SM-G991B", "14", "34", "arm64-v8a")
    assert info.clusters == [((7,), 2900000), ((4, 5, 6), 2803200), ((0, 1, 2, 3), 2016000)]
    assert info.big_mask(1) == "80"          # the prime core alone
    assert info.big_mask(2) == "f0"          # spills into the next cluster
    assert "2.90 GHz" in info.describe()
    assert thermal.status == 0 and thermal.max_temp_c == 38.5 and not thermal.capped_cpus(info)


def test_fingerprint_ignores_the_serial_but_not_the_model():
    base = dict(model="Pixel", manufacturer="Google", device="sailfish", android="10", sdk="29",
                abi="arm64-v8a", hardware="qcom", cpu_max_khz=(1593600, 2150400))
    a, b = DeviceInfo(serial="A", **base), DeviceInfo(serial="B", **base)
    c = DeviceInfo(serial="A", **{**base, "model": "Pixel 2"})
    assert a.short_id() == b.short_id() != c.short_id()
    assert parse_cpu_list("0-3,6") == [0, 1, 2, 3, 6]


def test_time_model_pins_big_cores_and_drops_warmup(emulate, tmp_path, runner_file, tiny_pte):
    em = emulate()
    cfg = RunConfig(runner_local=str(runner_file), runs=6, warmup=2)
    with connect(em, tmp_path) as phone:
        timing = time_model(phone, tiny_pte, read_device_info(phone), cfg)
    assert timing.runs == 6 and len(timing.times_ms) == 6
    assert timing.p10 <= timing.ms <= timing.p90 and timing.ms > 0
    assert timing.cpu_mask == "c" and em.shell.last_taskset == "c"  # Pixel 1: cpus 2,3
    run = next(c for c in em.shell.commands if c[0] == "taskset")
    assert run[2:] == [f"{REMOTE_DIR}/executor_runner", f"--model_path={REMOTE_DIR}/tiny.pte",
                       "--num_executions=8", "--cpu_threads=1"]
    assert not em.file(f"{REMOTE_DIR}/tiny.pte").exists()  # cleaned up
    assert timing.warnings == () and not timing.throttled


def test_throttling_during_the_run_is_warned(emulate, tmp_path, runner_file, tiny_pte):
    em = emulate(Faults(runner="throttle"))
    with connect(em, tmp_path) as phone:
        timing = time_model(phone, tiny_pte, read_device_info(phone),
                            RunConfig(runner_local=str(runner_file), runs=4, warmup=1))
    assert timing.throttled
    assert "cpu2 1.29/2.15 GHz" in timing.warnings[0] and "0 -> 2" in timing.warnings[0]


def test_cooldown_waits_for_caps_to_lift_then_gives_up(emulate, tmp_path, runner_file, tiny_pte):
    em = emulate()
    em.sandbox.throttle()  # the phone is hot before we start
    t = time.monotonic()
    with connect(em, tmp_path) as phone:
        timing = time_model(phone, tiny_pte, read_device_info(phone),
                            RunConfig(runner_local=str(runner_file), runs=2, warmup=0,
                                      cooldown_s=1.0))
    assert time.monotonic() - t >= 1.0
    assert any("already frequency-capped" in w for w in timing.warnings)


def test_missing_runner(emulate, tmp_path, tiny_pte):
    with connect(emulate(), tmp_path) as phone:
        with pytest.raises(PhoneError, match="runner is missing.*docs/phone.md"):
            time_model(phone, tiny_pte, read_device_info(phone), RunConfig())


def test_runner_not_executable(emulate, tmp_path, runner_file, tiny_pte):
    with connect(emulate(), tmp_path) as phone:
        phone.shell(["mkdir", "-p", REMOTE_DIR])
        phone.push(runner_file, f"{REMOTE_DIR}/executor_runner", mode=0o644)
        with pytest.raises(PhoneError, match="not executable.*chmod 755"):
            time_model(phone, tiny_pte, read_device_info(phone), RunConfig())


@pytest.mark.parametrize("fault, message", [
    ("garbage", "could not be parsed.*no timing lines"),
    ("crash", "crashed \\(signal 11\\)"),
])
def test_runner_faults_give_clear_errors(emulate, tmp_path, runner_file, tiny_pte, fault, message):
    with connect(emulate(Faults(runner=fault)), tmp_path) as phone:
        with pytest.raises(PhoneError, match=message):
            time_model(phone, tiny_pte, read_device_info(phone),
                       RunConfig(runner_local=str(runner_file), runs=2, warmup=0))


def test_hung_runner_times_out(emulate, tmp_path, runner_file, tiny_pte):
    with connect(emulate(Faults(runner="hang")), tmp_path) as phone:
        t = time.monotonic()
        with pytest.raises(PhoneError, match=r"^the runner did not finish within 1.5 s "
                                             r"\(--timeout\)"):
            time_model(phone, tiny_pte, read_device_info(phone),
                       RunConfig(runner_local=str(runner_file), timeout_s=1.5))
        assert time.monotonic() - t < 10


def test_runner_timeout_scales_with_the_runs():
    assert RunConfig().runner_timeout_s == 60 + 5 * (30 + 5)
    assert RunConfig(runs=100, warmup=0).runner_timeout_s == 560
    assert RunConfig(runs=1, warmup=0, timeout_s=7).runner_timeout_s == 7
    for bad in ({"timeout_s": 0}, {"timeout_s": -1}, {"timeout_per_run_s": float("nan")}):
        with pytest.raises(ValueError):
            RunConfig(**bad)


def test_hung_runner_fails_after_the_scaled_default(emulate, tmp_path, runner_file, tiny_pte):
    """No timeout_s given: the bound is base + per run x runs, and the message says so."""
    cfg = RunConfig(runner_local=str(runner_file), runs=3, warmup=1, timeout_base_s=0.5,
                    timeout_per_run_s=0.25)
    with connect(emulate(Faults(runner="hang")), tmp_path) as phone:
        info = read_device_info(phone)
        t = time.monotonic()
        with pytest.raises(PhoneError) as err:
            time_model(phone, tiny_pte, info, cfg)
        took = time.monotonic() - t
    assert str(err.value).startswith("the runner did not finish within 1.5 s (0.5 s + 0.25 s "
                                     "x 4 runs; set --timeout)")
    assert "did not answer" not in str(err.value)
    assert 1.5 <= took < 10


def test_disconnect_mid_run(emulate, tmp_path, runner_file, tiny_pte):
    with connect(emulate(Faults(runner="drop")), tmp_path) as phone:
        with pytest.raises(PhoneError, match="disconnected during running executor_runner"):
            time_model(phone, tiny_pte, read_device_info(phone),
                       RunConfig(runner_local=str(runner_file), runs=3, warmup=0))


def test_storage_check_before_push(emulate, tmp_path, runner_file, tiny_pte):
    em = emulate(profile=PhoneProfile(free_bytes=1 << 20))
    with connect(em, tmp_path) as phone:
        with pytest.raises(PhoneError, match="storage is full: 1.0 MiB free"):
            time_model(phone, tiny_pte, read_device_info(phone),
                       RunConfig(runner_local=str(runner_file)))


def test_runner_is_pushed_once_then_reused(emulate, tmp_path, runner_file, tiny_pte):
    em = emulate()
    cfg = RunConfig(runner_local=str(runner_file), runs=1, warmup=0)
    remote = f"{REMOTE_DIR}/executor_runner"
    with connect(em, tmp_path) as phone:
        info = read_device_info(phone)
        time_model(phone, tiny_pte, info, cfg)
        time_model(phone, tiny_pte, info, cfg)
        assert em.pushed.count(remote) == 1
        runner_file.write_bytes(runner_file.read_bytes() + b"# rebuilt\n")  # a new build
        time_model(phone, tiny_pte, info, cfg)
        assert em.pushed.count(remote) == 2
    assert em.file(remote).read_bytes() == runner_file.read_bytes()
