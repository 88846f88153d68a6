"""A connection to an Android phone over the ADB protocol (the `adb-shell` package, no adb binary).

USB needs the system libusb (Debian/Ubuntu: `apt-get install libusb-1.0-0`); TCP works after
`adb tcpip 5555` on a USB-connected phone. Android 11+ "wireless debugging" pairing (TLS) is not
supported by adb-shell.

Every call has a timeout, and every failure becomes a `PhoneError` whose message names the problem
and the fix (no device, unauthorised, USB busy, permissions, disconnects, full storage...).
Commands are passed as argument lists and shlex-quoted here, so nothing a user types (a model
name, a path) is ever executed as shell code on the phone.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from adb_shell import exceptions as adb_exc
from adb_shell.adb_device import AdbDevice
from adb_shell.transport.tcp_transport import TcpTransport

from ..latency.base import SourceError

DEFAULT_KEY = Path("~/.android/adbkey")
_RC_MARK = "__MNAS_RC__="
_RC_LINE = re.compile(re.escape(_RC_MARK) + r"(\d+)\s*$")

FIX_NO_USB = ("no phone found on USB. Plug it in with a data cable, enable Developer options > "
              "USB debugging, and pick 'File transfer' if the phone asks what the USB is for")
FIX_AUTH = ("the phone has not authorised this computer: unlock it and tap 'Allow' on the "
            "'Allow USB debugging?' dialog (tick 'Always allow from this computer'), then retry. "
            "No dialog? Settings > Developer options > 'Revoke USB debugging authorisations', "
            "replug, retry")
FIX_BUSY = ("the phone's USB interface is busy: an adb server on this computer holds it. Run "
            "`adb kill-server` (and close Android Studio), then retry")
FIX_ACCESS = ("permission denied opening the USB device. Add a udev rule, e.g. /etc/udev/rules.d/"
              "51-android.rules with SUBSYSTEM==\"usb\", ATTR{idVendor}==\"18d1\", MODE=\"0660\", "
              "GROUP=\"plugdev\" (use your phone's vendor id from `lsusb`; Debian's "
              "android-sdk-platform-tools-common ships one), add yourself to plugdev, run "
              "`sudo udevadm control --reload-rules`, replug")
FIX_LIBUSB = ("USB support needs the system libusb library: `sudo apt-get install libusb-1.0-0` "
              "(Debian/Ubuntu) or `brew install libusb` (macOS)")
FIX_DISCONNECT = ("the phone disconnected during {action}. Check the cable (or Wi-Fi for TCP), "
                  "keep the phone awake and unlocked, reconnect and retry")


class PhoneError(SourceError):
    """Anything that went wrong talking to the phone; the message says how to fix it."""


class PhoneTimeoutError(PhoneError):
    """The phone sent nothing within a call's timeout (it may be busy, asleep or gone)."""


@dataclass(frozen=True)
class ConnectConfig:
    """How to reach the phone. `host` set: TCP to host:port; otherwise USB (`serial` picks one
    phone when several are plugged in)."""

    host: str | None = None
    port: int = 5555
    serial: str | None = None
    key_path: str = str(DEFAULT_KEY)   # reused when present, created (mode 0600) when not
    connect_timeout_s: float = 10.0
    auth_timeout_s: float = 30.0       # how long the user has to tap "Allow"
    command_timeout_s: float = 30.0
    push_timeout_s: float = 120.0

    def __post_init__(self):
        if self.host and self.serial:
            raise ValueError(f"a serial ({self.serial}) picks one of several USB phones; it "
                             f"does not apply to a TCP connection to {self.host}: give either "
                             "--host or --serial, not both")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be in 1-65535, got {self.port}")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.host else f"usb:{self.serial or 'first'}"


@dataclass(frozen=True)
class ShellResult:
    output: str  # stdout and stderr merged, the rc marker removed
    rc: int


def quote_argv(argv: Sequence[str]) -> str:
    """One shell command line from an argument list; every argument is quoted."""
    if isinstance(argv, str):
        raise TypeError("pass commands as a list of arguments, not a shell string")
    return " ".join(shlex.quote(str(a)) for a in argv)


def load_or_create_key(key_path: str | Path = DEFAULT_KEY):
    """The ADB RSA signer: reuse the key the adb tools made (~/.android/adbkey), so the phone's
    'Always allow' covers both; otherwise create one, readable only by this user (0600)."""
    from adb_shell.auth.keygen import write_public_keyfile
    from adb_shell.auth.sign_pythonrsa import PythonRSASigner
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = Path(key_path).expanduser()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Created 0600 from the start: the key never exists with wider permissions.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        write_public_keyfile(str(path), str(path) + ".pub")
    elif not Path(str(path) + ".pub").is_file():
        write_public_keyfile(str(path), str(path) + ".pub")
    try:
        return PythonRSASigner.FromRSAKeyPath(str(path))
    except Exception as err:  # a corrupt or foreign key file: say which one
        raise PhoneError(f"cannot read the ADB key {path}: {err}. Move it away to have a new "
                         "one created (the phone will ask to 'Allow' again)") from None


class _ClosingTcpTransport(TcpTransport):
    """adb-shell's TCP transport treats a closed socket as 'no data yet' and spins until its
    read timeout; a peer that hung up is a disconnect, so say so at once. The first bytes the
    peer sent are kept, to name what answered when it was not adbd."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_bytes = b""

    def bulk_read(self, numbytes, transport_timeout_s):
        data = super().bulk_read(numbytes, transport_timeout_s)
        if len(self.first_bytes) < 64:
            self.first_bytes += data[:64 - len(self.first_bytes)]
        if not data:
            raise ConnectionResetError("the phone closed the connection")
        return data


# What a peer that is not adbd sends first (adbd's replies begin with an ADB command word).
_ADB_WORDS = (b"CNXN", b"AUTH", b"OPEN", b"OKAY", b"CLSE", b"WRTE", b"SYNC")
_OTHER_SERVERS = ((b"HTTP/", "an HTTP server"), (b"SSH-", "an SSH server"),
                  (b"\x16\x03", "a TLS server"), (b"220 ", "an FTP or mail server"))


def foreign_peer(address: str, first: bytes) -> PhoneError | None:
    """A PhoneError naming what answered at `address` when its first bytes are not ADB."""
    if not first or first[:4] in _ADB_WORDS:
        return None
    if first.startswith(b"STLS"):  # adbd's TLS upgrade: an Android 11+ wireless debugging port
        return PhoneError(f"{address} asks for TLS (Android 11+ wireless debugging), which "
                          "adb-shell does not support: connect by USB, run `adb tcpip 5555`, "
                          "and use port 5555")
    what = next((name for head, name in _OTHER_SERVERS if first.startswith(head)),
                "something that does not speak the ADB protocol")
    return PhoneError(f"{address} answered like {what}, not adb (it sent {first[:32]!r}): "
                      "check the phone's IP and port (5555 after `adb tcpip 5555`)")


def _usb_errors():
    try:
        import usb1
        return usb1.USBErrorBusy, usb1.USBErrorAccess, usb1.USBErrorNoDevice, usb1.USBError
    except Exception:  # no libusb: no USB error can occur either
        return (), (), (), ()


def translate_error(err: BaseException, action: str, config: ConnectConfig) -> PhoneError:
    """Map an exception from adb-shell, libusb or sockets to a PhoneError with the fix."""
    busy, access, nodev, usb_error = _usb_errors()
    # adb-shell wraps libusb errors: UsbReadFailedError(msg, usb_error), UsbWriteFailedError
    # with the libusb error as its second argument.
    inner = getattr(err, "usb_error", None) or next(
        (a for a in getattr(err, "args", ()) if isinstance(a, BaseException)), None)
    text = str(err)
    if isinstance(err, PhoneError):
        return err
    if isinstance(err, adb_exc.InvalidTransportError):
        return PhoneError(FIX_LIBUSB)
    if isinstance(err, adb_exc.UsbDeviceNotFoundError):
        return PhoneError(FIX_NO_USB + (f" (serial {config.serial})" if config.serial else ""))
    if busy and (isinstance(err, busy) or isinstance(inner, busy)):
        return PhoneError(FIX_BUSY)
    if access and (isinstance(err, access) or isinstance(inner, access)):
        return PhoneError(FIX_ACCESS)
    if isinstance(err, adb_exc.DeviceAuthError):
        return PhoneError(FIX_AUTH)
    if "No space left" in text or "ENOSPC" in text:
        return PhoneError(f"the phone's storage is full ({action}: {text}). Free some space "
                          "(uninstall apps, delete files) and retry")
    if isinstance(err, ConnectionRefusedError):
        return PhoneError(f"nothing listens at {config.address}. Connect the phone by USB, run "
                          "`adb tcpip 5555`, unplug, and use the phone's Wi-Fi IP (Settings > "
                          "About phone > Status)")
    if isinstance(err, (ConnectionError, BrokenPipeError, adb_exc.UsbReadFailedError,
                        adb_exc.UsbWriteFailedError)) or (nodev and isinstance(inner, nodev)):
        return PhoneError(FIX_DISCONNECT.format(action=action))
    if isinstance(err, (adb_exc.AdbTimeoutError, adb_exc.TcpTimeoutException, socket.timeout,
                        TimeoutError)):
        return PhoneTimeoutError(f"the phone did not answer in time during {action} ({text}). "
                                 "Check that it is awake and connected, then retry")
    if isinstance(err, (adb_exc.PushFailedError, adb_exc.AdbCommandFailureException)):
        return PhoneError(f"{action} failed on the phone: {text}")
    if usb_error and isinstance(err, usb_error):
        return PhoneError(f"USB error during {action}: {text}. Replug the phone and retry")
    return PhoneError(f"{action} failed: {type(err).__name__}: {text}")


class AdbPhone:
    """One ADB connection. Use as a context manager; all methods raise PhoneError."""

    def __init__(self, config: ConnectConfig | None = None, on_auth=None):
        """`on_auth()` is called when the phone asks for this computer's key, i.e. while its
        "Allow USB debugging?" dialog is waiting for a tap (tell the user)."""
        self.config = config or ConnectConfig()
        self.on_auth = on_auth
        self._dev: AdbDevice | None = None

    # ------------------------------------------------------------ connection
    def connect(self) -> "AdbPhone":
        cfg = self.config
        signer = load_or_create_key(cfg.key_path)
        asked = []  # set when the phone asked for our public key: its "Allow?" dialog is up
        dev = transport = None
        try:
            if cfg.host:
                transport = _ClosingTcpTransport(cfg.host, cfg.port)
                dev = AdbDevice(transport, default_transport_timeout_s=cfg.command_timeout_s)
            else:
                from adb_shell.adb_device import AdbDeviceUsb
                dev = AdbDeviceUsb(serial=cfg.serial,
                                   default_transport_timeout_s=cfg.command_timeout_s)
            dev.connect(rsa_keys=[signer], transport_timeout_s=cfg.connect_timeout_s,
                        read_timeout_s=cfg.connect_timeout_s, auth_timeout_s=cfg.auth_timeout_s,
                        auth_callback=lambda _dev: self._asked(asked))
        except Exception as err:
            self._drop(dev)
            foreign = transport and foreign_peer(cfg.address, transport.first_bytes)
            if foreign:
                raise foreign from None
            timeout = isinstance(err, (adb_exc.AdbTimeoutError, adb_exc.TcpTimeoutException,
                                       socket.timeout, TimeoutError))
            if asked and (timeout or isinstance(err, ConnectionError)):
                raise PhoneError(f"{FIX_AUTH} (no answer within {cfg.auth_timeout_s:g} s)") \
                    from None
            if timeout:
                raise PhoneError(f"{cfg.address} did not answer the ADB handshake within "
                                 f"{cfg.connect_timeout_s:g} s: is it an Android phone with USB "
                                 "debugging on (and `adb tcpip 5555` done for TCP)?") from None
            raise translate_error(err, f"connecting to {cfg.address}", cfg) from None
        self._dev = dev
        return self

    def _asked(self, asked: list) -> None:
        asked.append(True)
        if self.on_auth is not None:
            self.on_auth()

    @staticmethod
    def _drop(dev) -> None:
        try:
            if dev is not None:
                dev.close()
        except Exception:  # closing a broken transport: nothing more to report
            pass

    def close(self) -> None:
        self._drop(self._dev)
        self._dev = None

    def __enter__(self) -> "AdbPhone":
        return self if self._dev else self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True after connect() until close() or a failure that broke the connection."""
        return self._dev is not None

    @property
    def device(self) -> AdbDevice:
        if self._dev is None:
            raise PhoneError("not connected to a phone (call connect() first)")
        return self._dev

    # ------------------------------------------------------------ commands
    def shell(self, argv: Sequence[str], timeout_s: float | None = None,
              action: str | None = None) -> ShellResult:
        """Run one command (an argument list, quoted here) and return its output and exit code."""
        return self._run(quote_argv(argv), timeout_s, action or f"`{argv[0]}`")

    def shell_many(self, commands: Sequence[Sequence[str]], timeout_s: float | None = None,
                   action: str = "reading the phone's state") -> list[str]:
        """Run several commands in one round trip; one output per command (their exit codes
        are not kept: used for reads where a missing file just gives an empty value)."""
        sep = "__MNAS_SEP__"
        line = f" 2>&1; echo {sep}; ".join(quote_argv(c) for c in commands)
        parts = self._run(line, timeout_s, action).output.split(sep + "\n")
        if len(parts) != len(commands):
            raise PhoneError(f"unexpected output while {action}: {len(parts)} parts for "
                             f"{len(commands)} commands")
        return parts

    def _run(self, command: str, timeout_s: float | None, action: str) -> ShellResult:
        """Run a command line this module built (quoted pieces and fixed shell syntax only).
        adb's shell service has no exit code, so a marker line carries it; a missing marker
        means the stream was cut."""
        t = timeout_s or self.config.command_timeout_s
        line = f"{command} 2>&1; echo {_RC_MARK}$?"
        try:
            out = self.device.shell(line, transport_timeout_s=t, read_timeout_s=t, timeout_s=t,
                                    decode=False).decode("utf-8", errors="replace")
        except Exception as err:
            self.close()  # a half-read stream leaves the connection unusable
            raise translate_error(err, action, self.config) from None
        body, _, last = out.rstrip("\n").rpartition("\n")
        m = _RC_LINE.search(last)
        if not m:
            self.close()
            raise PhoneError(FIX_DISCONNECT.format(action=action) +
                             f" (output ended without an exit status: {out[-200:]!r})")
        output = body + ("\n" if body else "") + last[:m.start()]
        return ShellResult(output=output, rc=int(m.group(1)))

    def push(self, local: str | Path, remote: str, mode: int = 0o644,
             timeout_s: float | None = None, mtime: int = 0) -> None:
        """Copy a local file to the phone with the sync protocol (SEND/DATA/DONE)."""
        local = Path(local)
        if not local.is_file():
            raise PhoneError(f"cannot push {local}: no such file on this computer")
        t = timeout_s or self.config.push_timeout_s
        try:
            # S_IFREG | mode: adbd applies the permission bits to the new file.
            self.device.push(str(local), remote, st_mode=0o100000 | mode, mtime=mtime,
                             transport_timeout_s=t, read_timeout_s=t)
        except Exception as err:
            self.close()
            raise translate_error(err, f"pushing {local.name} to {remote}", self.config) \
                from None

    def stat(self, remote: str) -> tuple[int, int, int]:
        """(mode, size, mtime) of a file on the phone; (0, 0, 0) when it does not exist."""
        try:
            t = self.config.command_timeout_s
            mode, size, mtime = self.device.stat(remote, transport_timeout_s=t, read_timeout_s=t)
        except Exception as err:
            self.close()
            raise translate_error(err, f"checking {remote}", self.config) from None
        return mode, size, mtime

    def free_bytes(self, directory: str) -> int | None:
        """Free space in `directory` from `df -k`; None when df's output is unreadable."""
        res = self.shell(["df", "-k", directory], action="checking free space")
        rows = [r.split() for r in res.output.splitlines()[1:] if r.strip()]
        try:
            return int(rows[-1][3]) * 1024
        except (IndexError, ValueError):
            return None
