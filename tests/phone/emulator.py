"""An emulated Android phone: a TCP server on 127.0.0.1 that speaks the real ADB wire protocol.

It is the device side of what `adb tcpip` exposes (protocol: AOSP system/core/adb/protocol.txt
and SYNC.TXT):
- 24-byte message headers (command, arg0, arg1, length, byte-sum checksum, command ^ 0xffffffff);
- CNXN handshake with RSA AUTH (token, signature checked against the host's public key, or the
  public key accepted as if the user tapped "Allow");
- streams: OPEN / OKAY / WRTE / CLSE with one-WRTE-in-flight flow control;
- services `shell:<command>` (legacy, output without an exit code, like adbd without shell_v2)
  and `sync:` with STAT / LIST / SEND / DATA / DONE / RECV / QUIT.
Both adb-shell and Debian's `adb` binary connect to it. The phone's inside (file system, /sys,
commands, the stand-in runner) is in fake_shell.py. Faults are chosen per instance (`Faults`).
"""
from __future__ import annotations

import base64
import os
import queue
import socket
import struct
import threading
import traceback
from pathlib import Path

from .fake_shell import Faults, FakeShell, PhoneProfile, Sandbox

A_VERSION, A_VERSION_SKIP_CHECKSUM = 0x01000000, 0x01000001
MAX_PAYLOAD = 1024 * 1024
AUTH_TOKEN, AUTH_SIGNATURE, AUTH_RSAPUBLICKEY = 1, 2, 3
SHA1_DIGEST_INFO = bytes.fromhex("3021300906052b0e03021a05000414")


def _cmd(name: bytes) -> int:
    return struct.unpack("<I", name)[0]


def android_pubkey_verify(pubkey: bytes, token: bytes, signature: bytes) -> bool:
    """Check an AUTH signature the way adbd does: the key is Android's RSAPublicKey struct
    (base64, then ' user@host'); the signature is PKCS#1 v1.5 over the token taken as a SHA-1
    digest."""
    try:
        raw = base64.b64decode(pubkey.split(b"\0")[0].split(b" ")[0])
        words = struct.unpack_from("<I", raw)[0]
        n = int.from_bytes(raw[8:8 + 4 * words], "little")
        e = struct.unpack_from("<I", raw, 8 + 8 * words)[0]
    except Exception:
        return False
    k = 4 * words
    em = pow(int.from_bytes(signature, "big"), e, n).to_bytes(k, "big")
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(SHA1_DIGEST_INFO) - len(token)) + b"\x00" \
        + SHA1_DIGEST_INFO + token
    return em == expected


class _Stream:
    """One open stream; device-side id `local`, host-side id `remote`."""

    def __init__(self, conn: "_Connection", local: int, remote: int):
        self.conn, self.local, self.remote = conn, local, remote
        self.inbox: queue.Queue = queue.Queue()
        self.buf = b""
        self.acked = threading.Event()
        self.acked.set()
        self.closed = threading.Event()

    def write(self, data: bytes) -> None:
        for i in range(0, len(data), self.conn.maxdata):
            # Flow control: wait for the host's OKAY to the previous WRTE before the next.
            while not self.acked.wait(0.05):
                if self.closed.is_set() or self.conn.dead.is_set():
                    return
            if self.closed.is_set():
                return
            self.acked.clear()
            self.conn.send(b"WRTE", self.local, self.remote, data[i:i + self.conn.maxdata])

    def read(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            chunk = self.inbox.get()
            if chunk is None:
                return None
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.conn.send(b"CLSE", self.local, self.remote)
            self.conn.streams.pop(self.local, None)


class _Connection:
    def __init__(self, phone: "EmulatedPhone", sock: socket.socket):
        self.phone, self.sock = phone, sock
        self.lock = threading.Lock()
        self.dead = threading.Event()
        self.streams: dict[int, _Stream] = {}
        self.next_id = 1
        self.version, self.maxdata = A_VERSION, 4096

    def send(self, cmd: bytes, arg0: int, arg1: int, data: bytes = b"") -> None:
        c = _cmd(cmd)
        header = struct.pack("<6I", c, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF,
                             c ^ 0xFFFFFFFF)
        try:
            with self.lock:
                self.sock.sendall(header + data)
        except OSError:
            self.hang_up()

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("host hung up")
            data += chunk
        return data

    def recv(self) -> tuple[bytes, int, int, bytes]:
        cmd, arg0, arg1, length, check, magic = struct.unpack("<6I", self.recv_exact(24))
        if magic != cmd ^ 0xFFFFFFFF:
            raise ConnectionError(f"bad magic in header {cmd:#x}")
        data = self.recv_exact(length) if length else b""
        if self.version < A_VERSION_SKIP_CHECKSUM and (sum(data) & 0xFFFFFFFF) != check:
            raise ConnectionError("bad checksum")
        return struct.pack("<I", cmd), arg0, arg1, data

    def hang_up(self) -> None:
        if not self.dead.is_set():
            self.dead.set()
            for s in list(self.streams.values()):
                s.closed.set()
                s.inbox.put(None)
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    # ------------------------------------------------------------ handshake and dispatch
    def serve(self) -> None:
        try:
            if self.handshake():
                while not self.dead.is_set():
                    self.dispatch(*self.recv())
        except (ConnectionError, OSError, struct.error):
            pass
        finally:
            self.hang_up()

    def banner(self) -> bytes:
        p = self.phone.profile
        # No features advertised: clients fall back to the legacy shell and sync protocols.
        return (f"device::ro.product.name={p.device};ro.product.model={p.model};"
                f"ro.product.device={p.device};features=").encode()

    def connected(self, version: int, maxdata: int) -> None:
        self.version = min(version, A_VERSION_SKIP_CHECKSUM)
        self.maxdata = min(maxdata, MAX_PAYLOAD)
        self.send(b"CNXN", self.version, self.maxdata, self.banner())

    def handshake(self) -> bool:
        cmd, version, maxdata, _ = self.recv()
        if cmd != b"CNXN":
            return False
        mode = self.phone.faults.auth
        if mode == "none":
            self.connected(version, maxdata)
            return True
        token = os.urandom(20)
        self.send(b"AUTH", AUTH_TOKEN, 0, token)
        while True:
            cmd, kind, _, data = self.recv()
            if cmd != b"AUTH":
                return False
            if kind == AUTH_SIGNATURE:
                if any(android_pubkey_verify(k, token, data) for k in self.phone.authorized):
                    self.connected(version, maxdata)
                    return True
                token = os.urandom(20)  # unknown key: ask again, the host then sends its key
                self.send(b"AUTH", AUTH_TOKEN, 0, token)
            elif kind == AUTH_RSAPUBLICKEY:
                if mode == "refuse":  # the dialog is never answered: say nothing, like adbd
                    self.dead.wait()
                    return False
                self.phone.authorized.append(data)  # the user tapped "Allow"
                self.connected(version, maxdata)
                return True

    def dispatch(self, cmd: bytes, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == b"OPEN":
            local, self.next_id = self.next_id, self.next_id + 1
            stream = _Stream(self, local, arg0)
            self.streams[local] = stream
            service = data.rstrip(b"\0").decode()
            self.send(b"OKAY", local, arg0)
            threading.Thread(target=self.service, args=(stream, service), daemon=True).start()
            return
        stream = self.streams.get(arg1)
        if stream is None:
            return
        if cmd == b"OKAY":
            stream.acked.set()
        elif cmd == b"WRTE":
            stream.inbox.put(data)
            self.send(b"OKAY", stream.local, stream.remote)
        elif cmd == b"CLSE":
            stream.inbox.put(None)
            stream.close()  # answer the host's CLSE with ours

    def service(self, stream: _Stream, service: str) -> None:
        try:
            if service.startswith("shell:"):
                try:
                    rc = self.phone.shell.run(service[len("shell:"):], stream.write,
                                              self.hang_up, stream.closed)
                except Exception:  # a bug in the emulator: show it like a crashing program
                    stream.write(traceback.format_exc().encode())
                    rc = 1
                self.phone.last_rc = rc
            elif service == "sync:":
                _Sync(self.phone, stream).serve()
            else:
                stream.write(f"unknown service {service}\n".encode())
        finally:
            stream.close()


class _Sync:
    """The file-sync service (SYNC.TXT): 8-byte requests (id, length) then payload."""

    def __init__(self, phone: "EmulatedPhone", stream: _Stream):
        self.phone, self.stream = phone, stream

    def reply(self, ident: bytes, *fields: int, data: bytes = b"") -> None:
        self.stream.write(ident + struct.pack(f"<{len(fields)}I", *fields) + data)

    def serve(self) -> None:
        sb = self.phone.sandbox
        while True:
            head = self.stream.read(8)
            if head is None:
                return
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"QUIT":
                return
            payload = self.stream.read(length)
            if payload is None:
                return
            path = payload.decode()
            if ident == b"STAT":
                p = sb.host(path)
                st = p.stat() if p.exists() else None
                fields = (st.st_mode, st.st_size, int(st.st_mtime)) if st else (0, 0, 0)
                self.reply(b"STAT", *fields)
            elif ident == b"LIST":
                p = sb.host(path)
                for child in sorted(p.iterdir()) if p.is_dir() else []:
                    st, name = child.stat(), child.name.encode()
                    self.reply(b"DENT", st.st_mode, st.st_size, int(st.st_mtime), len(name),
                               data=name)
                self.reply(b"DONE", 0, 0, 0, 0)
            elif ident == b"RECV":
                p = sb.host(path)
                if not p.is_file():
                    msg = b"No such file or directory"
                    self.reply(b"FAIL", len(msg), data=msg)
                    continue
                blob = p.read_bytes()
                for i in range(0, len(blob), 64 * 1024):
                    chunk = blob[i:i + 64 * 1024]
                    self.reply(b"DATA", len(chunk), data=chunk)
                self.reply(b"DONE", 0)
            elif ident == b"SEND":
                if not self.receive_file(path):
                    return
            else:
                msg = f"unknown sync request {ident!r}".encode()
                self.reply(b"FAIL", len(msg), data=msg)
                return

    def receive_file(self, spec: str) -> bool:
        path, _, mode = spec.rpartition(",")
        blob, faults = b"", self.phone.faults
        while True:
            head = self.stream.read(8)
            if head is None:
                return False
            ident, value = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"DONE":
                break
            chunk = self.stream.read(value)
            if ident != b"DATA" or chunk is None:
                return False
            blob += chunk
            if faults.drop_push_after is not None and len(blob) >= faults.drop_push_after:
                self.stream.conn.hang_up()  # cable pulled mid-push
                return False
        # Like adbd: the whole file is read before a write error is reported.
        if len(blob) > self.phone.profile.free_bytes:
            msg = b"write failed: No space left on device"
            self.reply(b"FAIL", len(msg), data=msg)
            return True
        target = self.phone.sandbox.host(path)
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True)  # adbd creates missing parent directories
        target.write_bytes(blob)
        target.chmod(int(mode) & 0o777)
        os.utime(target, (value, value))
        self.phone.pushed.append(path)
        self.reply(b"OKAY", 0)
        return True


class EmulatedPhone:
    """`with EmulatedPhone(tmp_path) as phone:` serves on 127.0.0.1:`phone.port`."""

    def __init__(self, root: Path, profile: PhoneProfile | None = None,
                 faults: Faults | None = None):
        self.profile = profile or PhoneProfile()
        self.faults = faults or Faults()
        self.sandbox = Sandbox(Path(root), self.profile)
        self.shell = FakeShell(self.sandbox, self.faults)
        self.authorized: list[bytes] = []  # public keys the "user" allowed
        self.last_rc: int | None = None
        self.pushed: list[str] = []  # phone paths of completed pushes, in order
        self._server: socket.socket | None = None
        self._conns: list[_Connection] = []
        self.port = 0

    def start(self) -> "EmulatedPhone":
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            conn = _Connection(self, sock)
            self._conns.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.close()
        for c in self._conns:
            c.hang_up()

    def __enter__(self) -> "EmulatedPhone":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def file(self, path: str) -> Path:
        """The host file behind a phone path (for assertions)."""
        return self.sandbox.host(path)
