"""The lookup table timed on the phone: each layer exported to its own .pte, pushed and run by
the (stand-in) runner on the emulated phone, stored under the phone's fingerprint; then
`mnas latency build-table --on phone` and `mnas latency ARCH --predict --on phone`."""
import json

import pytest

from mnas_core.arch import parse_arch
from mnas_core.layers import expand_layers
from mnas_core.cli import main
from mnas_core.latency import LatencyDB, LutConfig, LutPredictor
from mnas_core.latency.db import layer_key
from mnas_core.phone import PhoneConfig, PhoneLatency, RunConfig
from .conftest import client_config

pytestmark = pytest.mark.timeout(300)

ONE = "r1_k3_s11_e1_i32_o16;resolution=32;num_classes=10"
TWO = "r1_k3_s11_e1_i32_o16,r1_k3_s22_e3_i16_o24;resolution=32;num_classes=10"


def _runs_on_phone(em) -> int:
    return sum(c[0] == "taskset" for c in em.shell.commands)


def test_table_built_on_phone_sums_its_stored_layers(emulate, tmp_path, runner_file):
    em = emulate()
    db = LatencyDB(tmp_path / "latency.db")
    cfg = PhoneConfig(connect=client_config(em, tmp_path), work_dir=str(tmp_path / "work"),
                      run=RunConfig(runner_local=str(runner_file), runs=3, warmup=1))
    one = parse_arch(ONE)
    with PhoneLatency(cfg, db=db) as phone:
        lut = LutPredictor(LutConfig(db_path=str(tmp_path / "latency.db")), db=db, timer=phone)
        n_layers = len({layer_key(L.config()) for L in expand_layers(one)})
        assert lut.build([one], progress=False) == n_layers
        # one run per layer plus the near-empty program for the per-call cost
        assert _runs_on_phone(em) == n_layers + 1
        assert lut.table_fingerprint() == phone.fingerprint()
        stored = db.get_layers(phone.fingerprint())
        layers = [stored[layer_key(L.config())] for L in expand_layers(one)]
        assert lut.raw_sum(one) == pytest.approx(sum(layers))
        assert lut.build([one], progress=False) == 0 and _runs_on_phone(em) == n_layers + 1
        result = lut.latency(one)
        assert result.source == "predicted" and result.backend == "lut-executorch-xnnpack"
        assert db.get_fingerprint(phone.fingerprint())["kind"] == "phone"
    db.close()


def test_cli_build_table_on_phone_then_predict(emulate, tmp_path, runner_file, capsys):
    em = emulate()
    conn = ["--host", "127.0.0.1", "--port", str(em.port), "--key", str(tmp_path / "k" / "key")]
    db = str(tmp_path / "cli.db")
    assert main(["latency", "build-table", ONE, TWO, "--on", "phone", *conn,
                 "--runner", str(runner_file), "--calibrate", "2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "new layer configurations" in out and "correction fitted on 2 whole-network" in out
    with LatencyDB(db) as d:
        whole = d.measurements(source="phone")  # the calibration's whole-network figures
        assert sorted(r["arch"] for r in whole) == sorted(parse_arch(a).to_string()
                                                          for a in (ONE, TWO))
        assert all("times_ms" in json.loads(r["extra"]) for r in whole)
    runs = _runs_on_phone(em)
    assert main(["latency", TWO, "--predict", "--on", "phone", *conn, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "correction:" in out and "lut-executorch-xnnpack-calibrated" in out
    assert _runs_on_phone(em) == runs  # predicted from the table: nothing ran on the phone


def test_cli_on_phone_without_a_phone_is_a_clear_error(tmp_path, capsys):
    args = ["latency", "build-table", ONE, "--on", "phone", "--host", "127.0.0.1", "--port",
            "9", "--key", str(tmp_path / "k" / "key"), "--db", str(tmp_path / "x.db")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "mnas phone: error:" in err and "Traceback" not in err
