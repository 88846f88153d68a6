"""The ADB connection against the emulated phone: auth, keys, quoting, push, and each fault's
clear error (never a hang)."""
import os
import socket
import stat
import time

import pytest
from adb_shell import exceptions as adb_exc

from mnas_core.phone.adb import (FIX_ACCESS, FIX_BUSY, FIX_LIBUSB, AdbPhone, ConnectConfig,
                                 PhoneError, load_or_create_key, quote_argv, translate_error)
from .conftest import client_config
from .fake_shell import Faults, PhoneProfile

pytestmark = pytest.mark.timeout(30)


def test_connect_creates_a_private_key_and_the_phone_remembers_it(emulate, tmp_path):
    em = emulate()
    cfg = client_config(em, tmp_path)
    with AdbPhone(cfg) as phone:
        assert phone.shell(["getprop", "ro.product.model"]).output == "Pixel\n"
    key = tmp_path / "keys" / "adbkey"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (tmp_path / "keys" / "adbkey.pub").read_text().startswith("QAAAA")
    assert len(em.authorized) == 1
    with AdbPhone(cfg) as phone:  # second time: the signature is accepted, no new "Allow"
        assert phone.shell(["echo", "again"]).rc == 0
    assert len(em.authorized) == 1


def test_existing_key_is_reused_untouched(tmp_path):
    path = tmp_path / "adbkey"
    load_or_create_key(path)
    before = path.read_bytes()
    load_or_create_key(path)
    assert path.read_bytes() == before


def test_refused_auth_says_tap_allow(emulate, tmp_path):
    em = emulate(Faults(auth="refuse"))
    t = time.monotonic()
    with pytest.raises(PhoneError, match="tap 'Allow'"):
        AdbPhone(client_config(em, tmp_path, auth_timeout_s=1.0)).connect()
    assert time.monotonic() - t < 10


def test_nothing_listening_says_how_to_enable_tcp(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = ConnectConfig(host="127.0.0.1", port=port, key_path=str(tmp_path / "k"))
    with pytest.raises(PhoneError, match="adb tcpip 5555"):
        AdbPhone(cfg).connect()


def test_silent_server_times_out_with_a_clear_error(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))  # accepts, never speaks ADB
    try:
        cfg = ConnectConfig(host="127.0.0.1", port=server.getsockname()[1],
                            key_path=str(tmp_path / "k"), connect_timeout_s=1.0)
        with pytest.raises(PhoneError, match="did not answer the ADB handshake"):
            AdbPhone(cfg).connect()
    finally:
        server.close()


def test_exit_codes_and_quoting_keep_user_text_inert(emulate, tmp_path):
    em = emulate(Faults(auth="none"))
    evil = "x'; rm -rf /data; echo \"$(reboot)\" `id` && touch /pwned #"
    with AdbPhone(client_config(em, tmp_path)) as phone:
        res = phone.shell(["echo", evil])
        assert res.output == evil + "\n" and res.rc == 0
        assert phone.shell(["cat", "/no/such/file"]).rc == 1
        assert phone.shell(["no_such_tool"]).rc == 127
    assert em.shell.commands[0] == ["echo", evil]
    assert not em.file("/pwned").exists() and em.file("/data/local/tmp").is_dir()
    with pytest.raises(TypeError):
        quote_argv("echo hi; reboot")


def test_push_then_stat_and_free_space(emulate, tmp_path):
    em = emulate()
    blob = os.urandom(300_000)  # several DATA chunks and WRTE packets
    (tmp_path / "m.pte").write_bytes(blob)
    with AdbPhone(client_config(em, tmp_path)) as phone:
        phone.push(tmp_path / "m.pte", "/data/local/tmp/mnas/m.pte", mode=0o755)
        mode, size, _ = phone.stat("/data/local/tmp/mnas/m.pte")
        assert size == len(blob) and mode & 0o777 == 0o755
        assert phone.stat("/data/local/tmp/absent") == (0, 0, 0)
        assert phone.free_bytes("/data/local/tmp") == 8 << 30
    assert em.file("/data/local/tmp/mnas/m.pte").read_bytes() == blob


def test_disconnect_mid_push_is_reported_not_hung(emulate, tmp_path):
    em = emulate(Faults(drop_push_after=100_000))
    (tmp_path / "m.pte").write_bytes(os.urandom(400_000))
    phone = AdbPhone(client_config(em, tmp_path)).connect()
    t = time.monotonic()
    with pytest.raises(PhoneError, match="disconnected during pushing m.pte"):
        phone.push(tmp_path / "m.pte", "/data/local/tmp/m.pte")
    assert time.monotonic() - t < 5
    with pytest.raises(PhoneError, match="not connected"):
        phone.shell(["echo", "hi"])


def test_full_storage_is_named(emulate, tmp_path):
    em = emulate(profile=PhoneProfile(free_bytes=50_000))
    (tmp_path / "m.pte").write_bytes(os.urandom(100_000))
    with AdbPhone(client_config(em, tmp_path)) as phone:
        with pytest.raises(PhoneError, match="storage is full"):
            phone.push(tmp_path / "m.pte", "/data/local/tmp/m.pte")


def test_usb_failures_map_to_their_fixes():
    usb1 = pytest.importorskip("usb1", reason="libusb1 python binding absent")
    cfg = ConnectConfig()
    cases = [
        (adb_exc.UsbDeviceNotFoundError("No device available"), "USB debugging"),
        (usb1.USBErrorBusy(), "adb kill-server"),
        (usb1.USBErrorAccess(), "udev rule"),
        (adb_exc.UsbReadFailedError("read", usb1.USBErrorNoDevice()), "disconnected during x"),
        (adb_exc.UsbWriteFailedError("write", usb1.USBErrorBusy()), "adb kill-server"),
        (adb_exc.InvalidTransportError("pip install adb-shell[usb]"), "libusb-1.0-0"),
        (adb_exc.DeviceAuthError("no keys"), "tap 'Allow'"),
        (adb_exc.PushFailedError("write failed: No space left on device"), "storage is full"),
    ]
    for err, fix in cases:
        assert fix in str(translate_error(err, "x", cfg)), err
    assert FIX_BUSY and FIX_ACCESS and FIX_LIBUSB


def test_no_usb_phone_says_so(tmp_path):
    """With no phone plugged in (always true here), USB connect fails with the fix."""
    pytest.importorskip("usb1", reason="libusb1 python binding absent")
    with pytest.raises(PhoneError, match="USB debugging|libusb"):
        AdbPhone(ConnectConfig(key_path=str(tmp_path / "k"), connect_timeout_s=1)).connect()


def test_sync_list_and_recv_speak_the_protocol(emulate, tmp_path):
    em = emulate()
    blob = os.urandom(150_000)
    (tmp_path / "a.bin").write_bytes(blob)
    with AdbPhone(client_config(em, tmp_path)) as phone:
        phone.push(tmp_path / "a.bin", "/data/local/tmp/d/a.bin")
        names = {e.filename.decode(): e.size for e in phone.device.list("/data/local/tmp/d")}
        assert names == {"a.bin": len(blob)}
        phone.device.pull("/data/local/tmp/d/a.bin", str(tmp_path / "back.bin"))
        with pytest.raises(adb_exc.AdbCommandFailureException, match="No such file"):
            phone.device.pull("/data/local/tmp/d/absent", str(tmp_path / "x"))
    assert (tmp_path / "back.bin").read_bytes() == blob


def _one_shot_server(reply: bytes) -> socket.socket:
    """A peer on 127.0.0.1 that reads what it is sent and answers `reply`, then hangs up."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)

    def serve():
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(4096)
                conn.sendall(reply)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    return server


@pytest.mark.parametrize("reply, named", [
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
     "answered like an HTTP server, not adb"),
    (b"HTTP/1.0 400\r\n\r\n", "answered like an HTTP server, not adb"),  # under one header
    (b"SSH-2.0-OpenSSH_9.6\r\n", "answered like an SSH server, not adb"),
])
def test_a_peer_that_is_not_adb_is_named(tmp_path, reply, named):
    server = _one_shot_server(reply)
    port = server.getsockname()[1]
    try:
        cfg = ConnectConfig(host="127.0.0.1", port=port, key_path=str(tmp_path / "k"),
                            connect_timeout_s=3.0)
        t = time.monotonic()
        with pytest.raises(PhoneError) as err:
            AdbPhone(cfg).connect()
        assert time.monotonic() - t < 5
    finally:
        server.close()
    assert str(err.value).startswith(f"127.0.0.1:{port} {named}")
    assert "InvalidCommandError" not in str(err.value)


def test_the_cli_names_an_http_peer_in_one_line(tmp_path, capsys):
    from mnas_core.cli import main

    server = _one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    port = server.getsockname()[1]
    try:
        rc = main(["phone", "info", "--host", "127.0.0.1", "--port", str(port),
                   "--key", str(tmp_path / "k")])
    finally:
        server.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert err[0].startswith(f"mnas phone: error: 127.0.0.1:{port} answered like an HTTP server")


def test_serial_with_host_is_refused(tmp_path, capsys):
    from mnas_core.cli import main

    with pytest.raises(ValueError, match="either --host or --serial"):
        ConnectConfig(host="10.0.0.7", serial="FA6AB0301234")
    with pytest.raises(ValueError, match="port"):
        ConnectConfig(host="10.0.0.7", port=70000)
    rc = main(["phone", "info", "--host", "127.0.0.1", "--serial", "FA6AB0301234",
               "--key", str(tmp_path / "k")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "either --host or --serial" in err[0]
    assert not (tmp_path / "k").exists()  # refused before anything was done
