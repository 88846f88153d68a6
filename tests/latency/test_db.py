import pytest

from mnas_core.latency import LatencyDB, LatencyResult
from mnas_core.latency.fingerprint import cpu_identity, fingerprint_id, host_fingerprint


def test_put_get_is_generic_over_sources(tmp_path):
    db = LatencyDB(tmp_path / "x.db")
    phone = LatencyResult(ms=80.0, source="phone", fingerprint="pixel1", p10=79, p90=82,
                          cv=0.01, runs=20, backend="executorch-xnnpack")
    host = LatencyResult(ms=10.0, source="measured", fingerprint="hostA", runs=30)
    db.put("arch1", phone, extra={"thermal": 0})
    db.put("arch1", host)
    got = db.get("arch1", "pixel1", "phone")
    assert got.ms == 80.0 and got.cached and got.backend == "executorch-xnnpack"
    assert db.get("arch1", "hostA", "measured").ms == 10.0
    assert db.get("arch1", "hostA", "phone") is None
    assert db.get_extra("arch1", "pixel1", "phone") == {"thermal": 0}
    assert len(db.measurements(source="phone")) == 1
    db.close()
    assert LatencyDB(tmp_path / "x.db").get("arch1", "pixel1", "phone").ms == 80.0


def test_failed_write_rolls_back(tmp_path):
    db = LatencyDB(tmp_path / "x.db")
    with pytest.raises(KeyboardInterrupt):
        with db._session() as c:
            c.execute("INSERT INTO layers VALUES ('k','fp',1.0,NULL,NULL,NULL,1,NULL,0)")
            raise KeyboardInterrupt
    assert db.get_layers("fp") == {}
    with pytest.raises(ValueError, match="empty"):
        db.put("", LatencyResult(ms=1.0, source="measured", fingerprint="f"))


def test_fingerprint_ids_separate_what_changes_figures():
    a = host_fingerprint("eager", 1)
    assert fingerprint_id(a) == fingerprint_id(dict(a))
    assert fingerprint_id(a) != fingerprint_id(host_fingerprint("eager", 2))
    assert fingerprint_id(a) != fingerprint_id(host_fingerprint("executorch-xnnpack", 1))
    assert "cpu" in a and "torch" in a and len(fingerprint_id(a)) == 12


CPUINFO = """processor\t: {n}
vendor_id\t: AuthenticAMD
cpu family\t: {family}
model\t\t: {model}
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse4_2 avx avx2 fma{more}

"""


def test_two_cpus_sold_under_one_name_are_told_apart():
    """Cloud VMs report "AMD EPYC" for CPUs far apart in latency (two of this project's
    machines: MobileNetV2 1.0 in 29.2 and 10.7 ms)."""
    zen2 = cpu_identity(CPUINFO.format(n=0, family=23, model=49, more="") +
                        CPUINFO.format(n=1, family=23, model=49, more=""))
    zen4 = cpu_identity(CPUINFO.format(n=0, family=25, model=17, more=" avx512f avx512bw"))
    assert zen2["cpu"] == zen4["cpu"] == "AMD EPYC"
    assert zen2["cpu_id"] == "vendor_id AuthenticAMD cpu family 23 model 49 stepping 1"
    assert zen2["simd"] == "sse4_2 avx avx2 fma" and zen4["simd"].endswith("avx512f avx512bw")
    assert zen2 != zen4
    assert set(cpu_identity()) <= set(host_fingerprint("eager", 1))  # this machine's, in it
