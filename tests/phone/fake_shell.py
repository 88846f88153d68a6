"""The inside of the emulated phone: a sandboxed file system with fake /sys files, a small
POSIX-sh subset (enough for what adb clients send: `;`, `&&`, `||`, redirections, quoting,
`$?`), toybox-like commands, and a stand-in for ExecuTorch's executor_runner.

The stand-in really runs the pushed .pte with executorch's runtime (inputs filled with ones, as
the real runner does) and prints the real runner's posix log lines, so parsers and statistics
see real timings of a real program, only measured on this host instead of on a phone.
"""
from __future__ import annotations

import posixpath
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# A pushed file starting with this is run as the stand-in executor_runner.
STANDIN_RUNNER = b"#!/system/bin/sh\n# emulated executorch executor_runner (tests/phone)\n"
_RC = "\x00RC\x00"  # placeholder for an unquoted $? until the command runs


@dataclass
class PhoneProfile:
    model: str = "Pixel"
    manufacturer: str = "Google"
    device: str = "sailfish"
    android: str = "10"
    sdk: int = 29
    abi: str = "arm64-v8a"
    serial: str = "FA6AB0301234"
    # Pixel 1: two 1.59 GHz little cores, two 2.15 GHz big cores (kHz, as in cpuinfo_max_freq).
    cpu_max_khz: tuple[int, ...] = (1593600, 1593600, 2150400, 2150400)
    temps_mc: tuple[int, ...] = (36000, 38500)  # thermal zones, millidegrees C
    thermal_status: int = 0
    free_bytes: int = 8 << 30


@dataclass
class Faults:
    auth: str = "accept"   # accept (user taps Allow) | none (no auth) | refuse (never answered)
    drop_push_after: int | None = None  # hang up after this many bytes of a pushed file
    runner: str = "ok"     # ok | hang | garbage | crash | drop | throttle


class Sandbox:
    """Phone paths mapped under a host directory; '..' can never leave it."""

    def __init__(self, root: Path, profile: PhoneProfile):
        self.root, self.profile = Path(root), profile
        for d in ("/data/local/tmp", "/system/bin", "/dev"):
            self.host(d).mkdir(parents=True, exist_ok=True)
        for i, khz in enumerate(profile.cpu_max_khz):
            base = f"/sys/devices/system/cpu/cpu{i}/cpufreq/"
            self.write(base + "cpuinfo_max_freq", f"{khz}\n")
            self.write(base + "scaling_max_freq", f"{khz}\n")
            self.write(base + "scaling_cur_freq", f"{khz}\n")
        self.write("/sys/devices/system/cpu/possible", f"0-{len(profile.cpu_max_khz) - 1}\n")
        for z, (name, mc) in enumerate(zip(("cpu-0-0-usr", "battery"), profile.temps_mc)):
            self.write(f"/sys/class/thermal/thermal_zone{z}/type", name + "\n")
            self.write(f"/sys/class/thermal/thermal_zone{z}/temp", f"{mc}\n")

    def host(self, path: str, cwd: str = "/") -> Path:
        norm = posixpath.normpath(posixpath.join(cwd, path))
        return self.root / norm.lstrip("/")

    def write(self, path: str, text: str) -> None:
        p = self.host(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def throttle(self) -> None:
        """What a hot phone does: cap the big cores' frequency, raise temperature and status."""
        top = max(self.profile.cpu_max_khz)
        for i, khz in enumerate(self.profile.cpu_max_khz):
            if khz == top:
                self.write(f"/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_max_freq",
                           f"{khz * 6 // 10}\n")
        self.write("/sys/class/thermal/thermal_zone0/temp", "71000\n")
        self.profile.thermal_status = 2


def tokenize(line: str) -> list[tuple[str, bool]]:
    """Shell words and operators as (text, is_operator); quoting is respected, so a quoted ';'
    is a word, never an operator."""
    out: list[tuple[str, bool]] = []
    word, has_word, i, n = [], False, 0, len(line)

    def flush():
        nonlocal word, has_word
        if has_word:
            out.append(("".join(word), False))
        word, has_word = [], False

    while i < n:
        c = line[i]
        if c in " \t\n":
            flush()
        elif c == "'":
            j = line.index("'", i + 1)
            word.append(line[i + 1:j]); has_word = True; i = j
        elif c == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\" and line[i + 1] in '"\\$':
                    i += 1
                elif line.startswith("$?", i):
                    word.append(_RC); i += 2; continue
                word.append(line[i]); i += 1
            has_word = True
        elif c == "\\":
            word.append(line[i + 1]); has_word = True; i += 1
        elif line.startswith("$?", i):
            word.append(_RC); has_word = True; i += 1
        elif c in ";&|<>":
            fd = "".join(word) if has_word and "".join(word).isdigit() and c == ">" else ""
            if fd:
                word, has_word = [], False
            flush()
            for op in ("&&", "||", ">>", ">&", ";", "|", "&", ">", "<"):
                if line.startswith(op, i):
                    out.append((fd + op, True)); i += len(op) - 1; break
        else:
            word.append(c); has_word = True
        i += 1
    flush()
    return out


class FakeShell:
    """Runs one command line. `emit` receives output bytes as they are produced; `drop` hangs
    up the connection; `cancelled` is set when the client went away."""

    def __init__(self, sandbox: Sandbox, faults: Faults):
        self.sb, self.faults = sandbox, faults
        self.last_taskset: str | None = None
        self.commands: list[list[str]] = []  # every simple command run, for assertions

    def run(self, line: str, emit: Callable[[bytes], None], drop: Callable[[], None],
            cancelled: threading.Event) -> int:
        toks, rc, skip = tokenize(line), 0, False
        cmd: list[tuple[str, bool]] = []
        for tok in toks + [(";", True)]:
            if tok[1] and tok[0] in (";", "&&", "||", "&"):
                if cmd and not skip:
                    rc = self._simple(cmd, rc, emit, drop, cancelled)
                cmd = []
                skip = (tok[0] == "&&" and rc != 0) or (tok[0] == "||" and rc == 0)
            else:
                cmd.append(tok)
        return rc

    def _simple(self, toks, last_rc, emit, drop, cancelled) -> int:
        argv, sink = [], emit
        it = iter(toks)
        for text, is_op in it:
            if not is_op:
                argv.append(text.replace(_RC, str(last_rc)))
            elif text.endswith(">&"):
                next(it)  # 2>&1: stderr already goes where stdout goes
            elif text.endswith(">") or text.endswith(">>"):
                target = next(it)[0]
                if target != "/dev/null":
                    path = self.sb.host(target)
                    if not text.endswith(">>"):
                        path.write_bytes(b"")  # '>' truncates once, then output appends
                    sink = lambda b, p=path: p.open("ab").write(b)
                else:
                    sink = lambda b: None
            else:
                emit(f"/system/bin/sh: syntax error: '{text}' unsupported\n".encode())
                return 2
        self.commands.append(argv)
        return self.exec(argv, sink, drop, cancelled)

    # ------------------------------------------------------------ commands
    def exec(self, argv, out, drop, cancelled) -> int:
        name, args = argv[0], argv[1:]
        say = lambda s: out(s.encode())
        if name == "echo":
            say(" ".join(args) + "\n"); return 0
        if name == "cat":
            rc = 0
            for a in args:
                p = self.sb.host(a)
                if p.is_file():
                    out(p.read_bytes())
                else:
                    say(f"cat: {a}: No such file or directory\n"); rc = 1
            return rc
        if name == "mkdir":
            for a in (a for a in args if not a.startswith("-")):
                self.sb.host(a).mkdir(parents=True, exist_ok=True)
            return 0
        if name == "chmod":
            mode, paths = args[0], args[1:]
            for a in paths:
                p = self.sb.host(a)
                if not p.exists():
                    say(f"chmod: {a}: No such file or directory\n"); return 1
                p.chmod(p.stat().st_mode | 0o111 if mode == "+x" else int(mode, 8))
            return 0
        if name == "rm":
            for a in (a for a in args if not a.startswith("-")):
                self.sb.host(a).unlink(missing_ok=True)
            return 0
        if name == "ls":
            for a in (a for a in args if not a.startswith("-")):
                p = self.sb.host(a)
                if not p.exists():
                    say(f"ls: {a}: No such file or directory\n"); return 1
                say("\n".join(sorted(x.name for x in p.iterdir())) + "\n" if p.is_dir()
                    else a + "\n")
            return 0
        if name == "getprop":
            props = self.props()
            if args:
                say(props.get(args[0], "") + "\n")
            else:
                say("".join(f"[{k}]: [{v}]\n" for k, v in props.items()))
            return 0
        if name == "df":
            kb = self.sb.profile.free_bytes // 1024
            say("Filesystem      1K-blocks     Used Available Use% Mounted on\n"
                f"/dev/block/dm-2 {kb * 2:>9} {kb:>8} {kb:>9}  50% /data\n")
            return 0
        if name == "dumpsys" and args == ["thermalservice"]:
            say(f"IsStatusOverride: false\nThermal Status: {self.sb.profile.thermal_status}\n"
                "HAL Ready: true\n")
            return 0
        if name == "sleep":
            cancelled.wait(float(args[0])); return 0
        if name == "taskset":
            if len(args) < 2:
                say("usage: taskset [-ap] [mask] [PID | cmd [args...]]\n"); return 1
            int(args[0], 16)  # a bad mask is a bug in the client: let the test see it
            self.last_taskset = args[0]
            return self.exec(args[1:], out, drop, cancelled)
        if "/" in name:
            return self.exec_file(name, args, out, drop, cancelled)
        say(f"/system/bin/sh: {name}: inaccessible or not found\n")
        return 127

    def props(self) -> dict[str, str]:
        p = self.sb.profile
        return {"ro.product.model": p.model, "ro.product.manufacturer": p.manufacturer,
                "ro.product.device": p.device, "ro.build.version.release": p.android,
                "ro.build.version.sdk": str(p.sdk), "ro.product.cpu.abi": p.abi,
                "ro.serialno": p.serial, "ro.hardware": "qcom"}

    def exec_file(self, path, args, out, drop, cancelled) -> int:
        p = self.sb.host(path)
        if not p.is_file():
            out(f"/system/bin/sh: {path}: inaccessible or not found\n".encode()); return 127
        if not p.stat().st_mode & 0o111:
            out(f"/system/bin/sh: {path}: can't execute: Permission denied\n".encode())
            return 126
        with open(p, "rb") as f:
            head = f.read(len(STANDIN_RUNNER))
        if head != STANDIN_RUNNER:
            out(f"/system/bin/sh: {path}: can't execute: Exec format error\n".encode())
            return 126
        return StandInRunner(self.sb, self.faults.runner).main(args, out, drop, cancelled)


class StandInRunner:
    """executor_runner's command line and posix log output, running the .pte with executorch."""

    def __init__(self, sandbox: Sandbox, fault: str):
        self.sb, self.fault, self.t0 = sandbox, fault, time.monotonic()

    def log(self, out, line: int, msg: str) -> None:
        t = time.monotonic() - self.t0
        hh, rem = divmod(t, 3600)
        mm, ss = divmod(rem, 60)
        out((f"I {int(hh):02d}:{int(mm):02d}:{int(ss):02d}.{int(ss % 1 * 1e6):06d} "
             f"executorch:executor_runner.cpp:{line}] {msg}\n").encode())

    def main(self, args, out, drop, cancelled) -> int:
        flags = {"model_path": "model.pte", "num_executions": "1", "cpu_threads": "-1"}
        for a in args:
            key, _, val = a.lstrip("-").partition("=")
            if key not in ("model_path", "num_executions", "cpu_threads", "print_output"):
                out(f"ERROR: unknown command line flag '{key}'\n".encode()); return 1
            flags[key] = val
        if self.fault == "garbage":
            out(b"\x1b[31m?? libc: ptrace attach ok\nsegv handler installed 0x7f3a\n\xff\xfe\n")
            return 0
        if self.fault == "hang":
            cancelled.wait(600)  # a wedged binary: only the client's timeout ends it
            return 137
        from executorch.runtime import Runtime
        import torch
        model = self.sb.host(flags["model_path"])
        threads = int(flags["cpu_threads"])
        self.log(out, 1020, f"Resetting threadpool with num threads = {threads}")
        t = time.perf_counter()
        try:
            method = Runtime.get().load_program(model).load_method("forward")
        except Exception:
            out(f"E 00:00:00.000100 executorch:executor_runner.cpp:455] Failed to parse model "
                f"file {flags['model_path']}\n".encode())
            return 1
        self.log(out, 460, f"Model file {flags['model_path']} is loaded.")
        self.log(out, 588, f"Model loaded in {(time.perf_counter() - t) * 1e3:f} ms.")
        if self.fault == "crash":
            out(b"Segmentation fault \n"); return 139
        meta = method.metadata
        inputs = [torch.ones(meta.input_tensor_meta(i).sizes()) for i in range(meta.num_inputs())]
        n, total = int(flags["num_executions"]), 0.0
        for i in range(n):
            if cancelled.is_set():
                return 130
            t = time.perf_counter()
            method.execute(inputs)
            ms = (time.perf_counter() - t) * 1e3
            total += ms
            self.log(out, 716, f"Iteration {i + 1} of {n}: {ms:f} ms")
            if self.fault == "drop" and i == 0:
                drop(); return 0
            if self.fault == "throttle" and i == n // 2:
                self.sb.throttle()
        self.log(out, 724, f"Model executed successfully {n} time(s) in {total:f} ms.")
        return 0
