"""End to end through the real adb-shell client: export a zoo model, push it and the runner,
time it (the stand-in runner executes the .pte), parse, store in the latency database; then the
`mnas phone` commands."""
import json

import pytest

from mnas_core import zoo
from mnas_core.arch import parse_arch
from mnas_core.cli import main
from mnas_core.latency.db import LatencyDB
from mnas_core.phone import PhoneConfig, PhoneLatency, RunConfig
from .conftest import client_config
from .fake_shell import PhoneProfile

pytestmark = pytest.mark.timeout(120)

TINY = "r1_k3_s11_e1_i32_o16,r1_k3_s22_e3_i16_o24;resolution=32;num_classes=10"


def test_zoo_model_timed_stored_and_cached(emulate, tmp_path, runner_file):
    em = emulate()
    db = LatencyDB(tmp_path / "latency.db")
    cfg = PhoneConfig(connect=client_config(em, tmp_path),
                      run=RunConfig(runner_local=str(runner_file), runs=5, warmup=2))
    arch = zoo.get("mnasnet_a1_x0.35", resolution=32, num_classes=10)
    with PhoneLatency(cfg, db=db) as source:
        first = source.latency(arch)
        assert (first.source, first.backend, first.runs, first.cached) == \
            ("phone", "executorch-xnnpack", 5, False)
        assert first.p10 <= first.ms <= first.p90 and first.fingerprint == source.fingerprint()
        runs_before = sum(c[0] == "taskset" for c in em.shell.commands)
        again = source.latency(arch)
        assert again.cached and again.ms == first.ms
        assert sum(c[0] == "taskset" for c in em.shell.commands) == runs_before  # not re-run
        [row] = source.history()
        assert row["arch"] == arch.to_string()
        extra = json.loads(row["extra"])
        assert len(extra["times_ms"]) == 5 and extra["cpu_mask"] == "c"
        info = db.get_fingerprint(first.fingerprint)
        assert info["kind"] == "phone" and info["model"] == "Pixel" and info["threads"] == 1
    db.close()
    # Survives a restart: a new source on the same file finds the figure without the phone
    # running anything.
    with LatencyDB(tmp_path / "latency.db") as db2, PhoneLatency(cfg, db=db2) as source:
        assert source.latency(arch).cached


def test_architecture_that_cannot_run_is_a_value_error(emulate, tmp_path, runner_file):
    em = emulate()
    cfg = PhoneConfig(connect=client_config(em, tmp_path), db_path=":memory:",
                      run=RunConfig(runner_local=str(runner_file)))
    with PhoneLatency(cfg) as source:
        with pytest.raises(ValueError):
            source.latency(zoo.get("mnasnet_a1", resolution=8))


def test_cli_phone_info_and_time(emulate, tmp_path, runner_file, capsys):
    em = emulate()
    conn = ["--host", "127.0.0.1", "--port", str(em.port), "--key", str(tmp_path / "k" / "key")]
    assert main(["phone", "info", *conn]) == 0
    out, err = capsys.readouterr()
    assert "tap 'Allow'" in err  # first connection: the emulated phone asked for our key
    assert "Google Pixel" in out and "2x 2.15 GHz (cpu 2,3)" in out and "mask c" in out

    db = str(tmp_path / "cli.db")
    timing = ["--runner", str(runner_file), "--runs", "3", "--warmup", "1", "--db", db]
    assert main(["phone", "time", TINY, *conn, *timing]) == 0
    out = capsys.readouterr().out
    assert "ms median" in out and "over 3 runs" in out and "cached" not in out
    assert main(["phone", "time", TINY, *conn, *timing]) == 0
    assert "(cached)" in capsys.readouterr().out
    with LatencyDB(db) as d:
        [row] = d.measurements(source="phone")
        assert row["arch"] == parse_arch(TINY).to_string()


def test_cli_reports_phone_errors_without_a_traceback(emulate, tmp_path, capsys):
    em = emulate()
    conn = ["--host", "127.0.0.1", "--port", str(em.port), "--key", str(tmp_path / "k" / "key")]
    assert main(["phone", "time", TINY, *conn, "--db", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err  # (library warnings may precede our line)
    assert "\nmnas phone: error: the executorch runner is missing" in "\n" + err
    assert "Traceback" not in err


def test_cli_times_a_ready_pte_file(emulate, tmp_path, runner_file, tiny_pte, capsys):
    em = emulate()
    conn = ["--host", "127.0.0.1", "--port", str(em.port), "--key", str(tmp_path / "k" / "key")]
    assert main(["phone", "time", str(tiny_pte), *conn, "--runner", str(runner_file),
                 "--runs", "2", "--warmup", "0"]) == 0
    assert "tiny.pte: " in capsys.readouterr().out


def test_fingerprint_separates_run_settings_and_phones(emulate, tmp_path):
    em, other = emulate(), emulate(profile=PhoneProfile(model="Pixel 8", cpu_max_khz=(2900000,)))

    def fp(phone, **run):
        cfg = PhoneConfig(connect=client_config(phone, tmp_path), run=RunConfig(**run),
                          db_path=":memory:")
        with PhoneLatency(cfg) as source:
            return source.fingerprint(), source.fingerprint_info()

    one, info = fp(em)
    assert info["threads"] == 1 and info["runner"] == "executorch" and info["pinned"]
    assert one == fp(em)[0]
    assert len({one, fp(em, threads=2)[0], fp(em, pin_big_cores=False)[0], fp(other)[0]}) == 4
