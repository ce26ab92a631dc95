"""WASI preview 1, wasmlite against wasmtime-py 50, side by side.

The same guest runs under both runtimes, in lockstep: a module that imports every
``wasi_snapshot_preview1`` function and exports a one-page ``memory`` and a wrapper of
each import under the import's name.  A *program* is a list of steps -- write bytes
into guest memory, or call one WASI function with raw arguments -- and after every
call the two runs are compared:

* the outcome: the errno, or the exception (class name, and the last line of its
  message: "Pointer out of bounds: Region { start: S, len: L }", "Exited with i32
  exit status 3", ...);
* the whole guest memory (64 KiB), so every byte a call writes counts, padding and
  partial writes before an error included;

and at the end the files on disk under each preopen (names, types, contents, symlink
targets, modification times), what went to stdout (each callback call) and stderr.

What differs between two correct runs is normalised, in both runs alike, and written
back into guest memory so that later calls see the same bytes:

* ``d_ino`` / ``ino``: Wasmtime reports a hash of the host (device, inode), and the
  two runs use different directories; each distinct value becomes a label in order
  of first appearance, so "same file" is still compared;
* time stamps that are "now" (within the run, +-60 s) become one marker; set values
  (``fd_filestat_set_times`` with a given time) are kept;
* ``clock_time_get`` results are checked to be plausible, then zeroed;
  ``random_get`` bytes are zeroed.

Left out, on purpose:

* which events a ``poll_oneoff`` with several subscriptions reports: in Wasmtime it
  is a race between its background tasks (the same program gives different answers
  run after run), so those events are checked for validity only;
* FIFOs, a WASI call in a store without ``set_wasi``, and a ``stdout_custom``
  callback returning a non-integer: each makes wasmtime-py 50 abort the process;
* the wasm backtrace wasmtime-py puts before an error's message.

Programs come from two places: hand-written scenarios (:data:`SCENARIOS`) for the
behaviours that matter most (descriptor numbering, ``WasiConfig`` accumulation,
permissions, seek/tell, ``poll_oneoff``, ``readdir`` cookies, ...) and a generator of
random call sequences with awkward arguments (bad descriptors, invalid enum and flag
values, misaligned and out-of-bounds pointers, paths that escape, symlinks, ...) from
a seed.  ``python tests/test_wasi_diff.py --seeds 2000`` runs more seeds than the test
suite does and prints the first divergence of each failing seed.
"""

from __future__ import annotations

import gc
import os
import random
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import wasmlite
from wasmlite.wasi import FUNCTIONS
from wasmlite.wasi import constants as C

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime-py is the reference implementation")

PAGE = 65536
NOW_SLACK = 60 * 10**9

# --- the guest --------------------------------------------------------------------------------


def _sig(name: str) -> tuple[str, str]:
    params = FUNCTIONS[name][0]
    ps = " ".join("i64" if k == "I" else "i32" for k in params)
    res = "" if name == "proc_exit" else "(result i32)"
    return ps, res


def guest_wat(memory: bool = True) -> str:
    """Imports of every WASI function, re-exported through a wasm wrapper each."""
    lines = ["(module"]
    for name in FUNCTIONS:
        ps, res = _sig(name)
        lines.append(f'(import "wasi_snapshot_preview1" "{name}" (func ${name} (param {ps}) {res}))')
    if memory:
        lines.append('(memory (export "memory") 1)')
    for name, (params, _impl, _m) in FUNCTIONS.items():
        ps, res = _sig(name)
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        lines.append(f'(func (export "{name}") (param {ps}) {res} (call ${name} {gets}))')
    lines.append(")")
    return "\n".join(lines)


_MODULES: dict[tuple[str, bool], tuple[Any, Any]] = {}


def _engine_module(api: Any, memory: bool = True) -> tuple[Any, Any]:
    key = (api.__name__, memory)
    if key not in _MODULES:
        engine = api.Engine()
        _MODULES[key] = (engine, api.Module(engine, guest_wat(memory)))
    return _MODULES[key]


# --- configuration of a run ----------------------------------------------------------------------

@dataclass
class Setup:
    """What a run is given: the ``WasiConfig`` calls (in order) and the initial files.

    ``config`` is a list of ``(method, args)``: ``("argv", [...])`` assigns
    ``config.argv``, ``("preopen", (rel, guest, fs_mutable))`` preopens the run's
    directory ``rel``, other names are called (``inherit_env``, ...) or assigned
    (``stdin_file`` takes a path relative to the run's directory).
    """

    config: list[tuple[str, Any]] = field(default_factory=list)
    tree: Callable[[Path], None] | None = None
    stdout: str = "custom"   # "custom" (callback chunks), "file", "default"
    stderr: str = "file"
    #: what the stdout callback returns for the bytes it gets (default: ``None``)
    callback_result: Callable[[bytes], Any] | None = None


def default_tree(base: Path) -> None:
    """Files the generated programs work on: ``root`` (read-write), ``ro`` (read-only),
    and things outside both."""
    (base / "outside").write_text("secret")
    (base / "outdir").mkdir()
    root = base / "root"
    root.mkdir()
    (root / "f").write_bytes(b"hello world\n")
    (root / "g").write_bytes(b"")
    (root / "big").write_bytes(bytes(range(256)) * 40)
    (root / "d").mkdir()
    (root / "d" / "e").write_bytes(b"in d")
    (root / "d" / "sub").mkdir()
    (root / "empty").mkdir()
    os.symlink("f", root / "lf")
    os.symlink("d", root / "ld")
    os.symlink("nothere", root / "dangling")
    os.symlink("loop", root / "loop")
    os.symlink("../outside", root / "up")
    os.symlink(str(base / "outside"), root / "abs")
    os.symlink("../f", root / "d" / "back")
    ro = base / "ro"
    ro.mkdir()
    (ro / "r").write_bytes(b"read only")
    (ro / "rd").mkdir()
    os.symlink("r", ro / "lr")
    (base / "stdin").write_bytes(b"line one\nline two\n" * 3)


DEFAULT_CONFIG: list[tuple[str, Any]] = [
    ("argv", ["prog", "arg one", "", "ünï"]),
    ("env", [("A", "1"), ("EMPTY", ""), ("A", "2")]),
    ("stdin_file", "stdin"),
    ("preopen", ("root", "/", True)),
    ("preopen", ("ro", "/ro", False)),
    ("preopen", ("root/d", "dee", True)),
]


class Side:
    """One runtime running the guest in its own copy of the files."""

    def __init__(self, api: Any, base: Path, setup: Setup, memory: bool = True):
        self.api = api
        self.base = base
        base.mkdir(parents=True)
        (setup.tree or default_tree)(base)
        self.chunks: list[bytes] = []
        self.t0 = time.time_ns()
        engine, module = _engine_module(api, memory)
        cfg = api.WasiConfig()
        self.config_errors: list[str] = []
        for method, arg in setup.config:
            try:
                if method == "preopen":
                    rel, guest, mutable = arg
                    cfg.preopen_dir(str(base / rel), guest, mutable)
                elif method in ("argv", "env"):
                    setattr(cfg, method, arg)
                elif method in ("stdin_file", "stdout_file", "stderr_file"):
                    setattr(cfg, method, str(base / arg))
                else:
                    getattr(cfg, method)(*arg)
            except Exception as e:  # compared like call outcomes
                self.config_errors.append(f"{method}: {type(e).__name__}: {_last_line(e)}")
        if setup.stdout == "custom":
            def custom(data: bytes) -> Any:
                self.chunks.append(data)
                return setup.callback_result(data) if setup.callback_result else None
            cfg.stdout_custom = custom
        elif setup.stdout == "file":
            cfg.stdout_file = str(base / "stdout")
        if setup.stderr == "file":
            cfg.stderr_file = str(base / "stderr")
        self.store = api.Store(engine)
        self.store.set_wasi(cfg)
        self.cfg = cfg
        linker = api.Linker(engine)
        linker.define_wasi()
        self.exports = linker.instantiate(self.store, module).exports(self.store)
        self.memory = self.exports["memory"] if memory else None
        self.labels: dict[int, int] = {}

    # -- steps ---------------------------------------------------------------------------
    def write(self, addr: int, data: bytes) -> None:
        self.memory.write(self.store, data, addr)

    def mem(self) -> bytearray:
        if self.memory is None:
            return bytearray()
        return bytearray(self.memory.read(self.store, 0, self.memory.data_len(self.store)))

    def call(self, name: str, args: tuple[int, ...]) -> tuple:
        params = FUNCTIONS[name][0]
        conv = [_to_signed(a, 64 if k == "I" else 32) for k, a in zip(params, args, strict=True)]
        try:
            return ("ok", self.exports[name](self.store, *conv))
        except Exception as e:
            code = getattr(e, "code", None)
            return ("error", type(e).__name__, _last_line(e), code)

    def label(self, value: int) -> int:
        """The label of an ``ino`` value: 0x1D000 + order of first appearance."""
        return self.labels.setdefault(value, 0x1D000 + len(self.labels))

    def close(self) -> None:
        """Drop the store now.  (wasmtime-py's stdout callback is released from one of
        Wasmtime's own threads once the store is gone; if that happens while Python
        shuts down, the process aborts.  So stores are not left for the exit.)"""
        ctx = getattr(self.store, "wasi_ctx", None)
        if ctx is not None:
            ctx.close()
        self.exports = self.memory = None
        self.store.close()
        self.store = None

    def finish(self) -> dict:
        out = {"chunks": self.chunks, "config_errors": self.config_errors}
        for name in ("stdout", "stderr"):
            p = self.base / name
            out[name] = p.read_bytes() if p.exists() else None
        out["tree"] = _tree(self.base, self.t0)
        return out


def _to_signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def _last_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = text[-1].strip() if text else ""
    head, sep, rest = line.partition(": ")
    return rest if sep and head.isdigit() else line


def _norm_time(ns: int, t0: int) -> Any:
    return "now" if t0 - NOW_SLACK <= ns <= time.time_ns() + NOW_SLACK else ns


def _tree(base: Path, t0: int) -> list:
    out = []
    for dirpath, dirs, files in os.walk(base):
        for name in sorted(dirs + files):
            p = Path(dirpath) / name
            rel = str(p.relative_to(base))
            if rel in ("stdout", "stderr"):
                continue
            st = os.lstat(p)
            if p.is_symlink():
                out.append((rel, "l", os.readlink(p).replace(str(base), "$BASE")))
            elif p.is_dir():
                out.append((rel, "d", None))
            else:
                out.append((rel, "f", p.read_bytes(), _norm_time(st.st_mtime_ns, t0)))
    return sorted(out, key=lambda t: t[0])


# --- normalising what legitimately differs ---------------------------------------------------------

_FILESTAT_FIELDS = [(0, 8), (8, 8), (16, 1), (24, 8), (32, 8), (40, 8), (48, 8), (56, 8)]


def _u64(mem: bytearray, p: int) -> int:
    return struct.unpack_from("<Q", mem, p)[0]


def _normalize(side: Side, mem: bytearray, name: str, args: tuple[int, ...], outcome: tuple,
               before: float) -> list:
    """Rewrite host-dependent bytes in ``mem`` (in place) and return observations to
    compare instead (plausibility of clocks)."""
    notes: list = []
    ok = outcome[0] == "ok" and outcome[1] == 0
    size = len(mem)

    def fits(p: int, n: int, align: int) -> bool:
        return p + n <= size and p % align == 0

    def filestat(out: int) -> None:
        for off, n in _FILESTAT_FIELDS:
            p = out + off
            if not fits(p, n, n):
                return
            if off == 8:
                struct.pack_into("<Q", mem, p, side.label(_u64(mem, p)))
            elif off >= 40:
                v = _norm_time(_u64(mem, p), side.t0)
                struct.pack_into("<Q", mem, p, 0xEEEEEEEEEEEEEEEE if v == "now" else v)

    if name in ("fd_filestat_get", "path_filestat_get") and outcome[0] in ("ok", "error"):
        if ok or outcome[0] == "error":
            filestat(args[-1])
    elif name == "fd_readdir" and (ok or outcome[0] == "error"):
        buf, buf_len = args[1], args[2]
        limit = min(buf + buf_len, size)
        if ok and fits(args[4], 4, 4):
            limit = min(limit, buf + struct.unpack_from("<I", mem, args[4])[0])
        p = buf
        while p < limit:
            ino = p + 8
            if ino + 8 <= limit:
                struct.pack_into("<Q", mem, ino, side.label(_u64(mem, ino)))
            elif ino < limit:
                mem[ino:limit] = bytes(limit - ino)
            if p + 24 > limit:
                break
            p += 24 + struct.unpack_from("<I", mem, p + 16)[0]
    elif name == "clock_time_get" and ok:
        out = args[2]
        v = _u64(mem, out)
        if args[0] & 0xFFFFFFFF == C.CLOCKID_REALTIME:
            notes.append(("realtime plausible", side.t0 - 10**9 <= v <= time.time_ns()))
        else:
            notes.append(("monotonic plausible", 0 < v <= (time.time_ns() - side.t0) + 10 * 10**9))
        mem[out:out + 8] = bytes(8)
    elif name == "poll_oneoff" and ok and args[2] > 1:
        # Which of several ready subscriptions Wasmtime reports is a race between its
        # background tasks: check that the events are right, then forget which.
        subs, events, n, nevents = args
        count = struct.unpack_from("<I", mem, nevents)[0]
        valid = 1 <= count <= n
        k = 0
        for e in range(count if valid else 0):
            ud, err, typ, nbytes, flags = struct.unpack_from("<QHBxxxxxQH", mem, events + 32 * e)
            while k < n and struct.unpack_from("<QB", mem, subs + 48 * k) != (ud, typ):
                k += 1
            valid = valid and k < n and err == 0 and nbytes == (0 if typ == 0 else 1) and (
                flags == 0 or typ == C.EVENTTYPE_FD_READ)
            k += 1
        notes.append(("poll events valid", valid))
        mem[events:events + 32 * n] = bytes(32 * n)
        mem[nevents:nevents + 4] = bytes(4)
    elif name == "random_get" and ok:
        ptr, n = args
        mem[ptr:ptr + n] = bytes(n)
    elif name == "random_get" and outcome[0] == "error" and args[0] < size:
        pass  # nothing is written when the range is out of bounds
    return notes


# --- running programs in lockstep ------------------------------------------------------------------

Step = tuple  # ("w", addr, bytes) | ("c", name, args)


@dataclass
class Divergence:
    step: int
    what: str
    wasmtime: Any
    wasmlite: Any
    history: list

    def __str__(self) -> str:
        hist = "\n".join(f"  {i}: {_fmt_step(s)} -> {o}" for i, s, o in self.history[-12:])
        return (f"step {self.step}: {self.what}\n  wasmtime: {self.wasmtime}\n"
                f"  wasmlite: {self.wasmlite}\nlast steps:\n{hist}")


def _short(x: Any, n: int = 600) -> str:
    text = repr(x)
    return text if len(text) <= n else text[:n] + f"... ({len(text)} chars)"


def _fmt_step(s: Step) -> str:
    if s[0] == "w":
        return f"write {s[1]:#x} {bytes(s[2][:24])!r}{'...' if len(s[2]) > 24 else ''}"
    return f"{s[1]}{tuple(hex(a) if a > 4096 else a for a in s[2])}"


def _mem_diff(a: bytearray, b: bytearray) -> str:
    if len(a) != len(b):
        return f"sizes {len(a)} != {len(b)}"
    spans, i = [], 0
    while i < len(a) and len(spans) < 4:
        if a[i] != b[i]:
            j = i
            while j < len(a) and a[j] != b[j]:
                j += 1
            spans.append(f"[{i:#x}:{j:#x}] {bytes(a[i:min(j, i + 16)]).hex()} vs "
                         f"{bytes(b[i:min(j, i + 16)]).hex()}")
            i = j
        i += 1
    return "; ".join(spans)


@dataclass
class Result:
    calls: int = 0
    divergence: Divergence | None = None


def run_program(steps: list[Step], tmp: Path, setup: Setup | None = None,
                memory: bool = True) -> Result:
    """Run ``steps`` under both runtimes and return the first divergence (if any)."""
    setup = setup or Setup(config=list(DEFAULT_CONFIG))
    ref = Side(wasmtime, tmp / "wasmtime", setup, memory)
    ours = Side(wasmlite, tmp / "wasmlite", setup, memory)
    res = Result()
    history: list = []
    try:
        if ref.config_errors != ours.config_errors:
            res.divergence = Divergence(-1, "WasiConfig errors", ref.config_errors,
                                        ours.config_errors, history)
            return res
        for i, step in enumerate(steps):
            if step[0] == "w":
                ref.write(step[1], step[2])
                ours.write(step[1], step[2])
                history.append((i, step, ""))
                continue
            _, name, args = step
            before = time.time()
            o_ref = ref.call(name, args)
            o_ours = ours.call(name, args)
            res.calls += 1
            history.append((i, step, o_ref))
            if o_ref != o_ours:
                res.divergence = Divergence(i, f"outcome of {_fmt_step(step)}", o_ref, o_ours,
                                            history)
                return res
            m_ref, m_ours = ref.mem(), ours.mem()
            n_ref = _normalize(ref, m_ref, name, args, o_ref, before)
            n_ours = _normalize(ours, m_ours, name, args, o_ours, before)
            if n_ref != n_ours or any(not ok for _, ok in n_ref):
                res.divergence = Divergence(i, f"observations of {_fmt_step(step)}", n_ref,
                                            n_ours, history)
                return res
            if m_ref != m_ours:
                res.divergence = Divergence(i, f"memory after {_fmt_step(step)}",
                                            _mem_diff(m_ref, m_ours), "", history)
                return res
            if memory:
                ref.write(0, bytes(m_ref))
                ours.write(0, bytes(m_ours))
        f_ref, f_ours = ref.finish(), ours.finish()
        for key in f_ref:
            a, b = f_ref[key], f_ours[key]
            if a != b:
                if isinstance(a, list) and isinstance(b, list) and key == "tree":
                    a, b = [x for x in a if x not in b], [x for x in b if x not in a]
                res.divergence = Divergence(len(steps), f"final {key}", _short(a), _short(b),
                                            history)
                return res
        return res
    finally:
        ref.close()
        ours.close()
        gc.collect()


# --- building programs ---------------------------------------------------------------------------

STR1, STR2 = 0x100, 0x400
IOV = 0x800
DATA = 0x1000
OUT, OUT2 = 0x3000, 0x3100
SUBS, EVENTS = 0x4000, 0x5000
DIRBUF = 0x6000
ARGV, ARGV_BUF = 0x8000, 0x9000


class P:
    """A program under construction."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def w(self, addr: int, data: bytes) -> P:
        self.steps.append(("w", addr, bytes(data)))
        return self

    def c(self, name: str, *args: int) -> P:
        assert len(args) == len(FUNCTIONS[name][0]), name
        self.steps.append(("c", name, tuple(args)))
        return self

    def s(self, addr: int, text: str | bytes) -> tuple[int, int]:
        data = text.encode() if isinstance(text, str) else text
        self.w(addr, data)
        return addr, len(data)

    def open(self, path: str, oflags: int = 0, rights: int = C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE,
             fdflags: int = 0, dirfd: int = 3, follow: int = 1) -> P:
        a, n = self.s(STR1, path)
        return self.c("path_open", dirfd, follow, a, n, oflags, rights, rights, fdflags, OUT)

    def iov(self, *bufs: tuple[int, int]) -> P:
        return self.w(IOV, b"".join(struct.pack("<II", p, n) for p, n in bufs))

    def sub_clock(self, i: int, ud: int, clock: int, timeout: int, flags: int = 0) -> P:
        return self.w(SUBS + 48 * i, struct.pack("<QB7xIxxxxQQH6x", ud, 0, clock, timeout, 0, flags))

    def sub_fd(self, i: int, ud: int, tag: int, fd: int) -> P:
        return self.w(SUBS + 48 * i, struct.pack("<QB7xI28x", ud, tag, fd))


RW = C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE


def sc_fd_numbering() -> P:
    """Descriptor numbers after every mix of closes (the issue's 7-then-6 case first)."""
    p = P()
    for _ in range(6):
        p.open("f", rights=C.RIGHTS_FD_READ)
    for order in ([7, 6], [4, 8], [6, 7], [5, 9, 4], [3], [0, 2]):
        for fd in order:
            p.c("fd_close", fd)
        for _ in range(len(order) + 2):
            p.open("f", rights=C.RIGHTS_FD_READ, dirfd=5)
            p.open("f", rights=C.RIGHTS_FD_READ)
    for a, b in ((5, 1), (12, 13), (13, 12), (9, 9), (9, 99), (99, 9), (1, 20), (14, 7)):
        p.c("fd_renumber", a, b)
        p.open("f", rights=C.RIGHTS_FD_READ)
        p.c("fd_fdstat_get", b, OUT)
    for fd in range(0, 24):
        p.c("fd_fdstat_get", fd, OUT)
        p.c("fd_prestat_get", fd, OUT)
    return p


def sc_seek_tell() -> P:
    p = P().open("big", rights=RW)   # fd 6
    fd = 6
    for off, whence in ((0, 0), (10, 0), (-1, 0), (5, 1), (-100, 1), (-15, 1), (0, 2), (-10, 2),
                        (100, 2), (-20000, 2), (2**63 - 1, 0), (1, 1), (2**62, 1), (2**62, 1),
                        (2**62, 1), (0, 1), (5, 3), (0, 255), (0, 256), (-1 & 0xFFFFFFFF, 0)):
        p.c("fd_seek", fd, off & (2**64 - 1), whence, OUT)
        p.c("fd_tell", fd, OUT2)
    p.iov((DATA, 16))
    p.c("fd_seek", fd, 2**40, 0, OUT).c("fd_read", fd, IOV, 1, OUT2)
    p.c("fd_seek", fd, 10230, 0, OUT).c("fd_read", fd, IOV, 1, OUT2).c("fd_tell", fd, OUT2)
    p.c("fd_read", fd, IOV, 1, OUT2)
    p.c("fd_seek", fd, 2**63, 0, OUT).c("fd_seek", fd, 2**64 - 1, 0, OUT)
    p.c("fd_seek", fd, 20000, 0, OUT).w(DATA, b"X").iov((DATA, 1))
    p.c("fd_write", fd, IOV, 1, OUT2).c("fd_tell", fd, OUT2).c("fd_filestat_get", fd, OUT)
    for other in (0, 1, 2, 3, 99):
        p.c("fd_seek", other, 0, 0, OUT).c("fd_tell", other, OUT2)
    p.c("fd_seek", fd, 0, 0, OUT + 1).c("fd_tell", fd, PAGE - 4).c("fd_tell", fd, PAGE - 8)
    return p


def sc_read_write_iovecs() -> P:
    p = P().open("f", rights=RW)   # 6
    p.w(DATA, b"ABCDEFGHIJKLMNOP")
    p.iov((DATA, 0), (DATA, 3), (DATA + 3, 4))   # only the first non-empty buffer counts
    p.c("fd_write", 6, IOV, 3, OUT2).c("fd_tell", 6, OUT)
    p.c("fd_pwrite", 6, IOV, 3, 20, OUT2).c("fd_tell", 6, OUT)
    p.iov((DATA + 100, 0), (DATA + 100, 5), (DATA + 200, 5))
    p.c("fd_seek", 6, 0, 0, OUT).c("fd_read", 6, IOV, 3, OUT2).c("fd_pread", 6, IOV, 3, 1, OUT2)
    p.c("fd_read", 6, IOV, 0, OUT2).c("fd_write", 6, IOV, 0, OUT2)
    p.iov((DATA, 0)).c("fd_read", 6, IOV, 1, OUT2).c("fd_write", 6, IOV, 1, OUT2)
    p.c("fd_pread", 6, IOV, 1, 0, OUT2).c("fd_pwrite", 6, IOV, 1, 0, OUT2)
    p.iov((DATA, 8)).c("fd_pread", 6, IOV, 1, 1000, OUT2).c("fd_pread", 6, IOV, 1, 2**63, OUT2)
    p.c("fd_pwrite", 6, IOV, 1, 2**63, OUT2)
    # stdio: the first non-empty buffer too; pread/pwrite on stdio
    p.iov((DATA, 2), (DATA + 2, 2)).c("fd_write", 1, IOV, 2, OUT2).c("fd_write", 2, IOV, 2, OUT2)
    p.c("fd_read", 0, IOV, 2, OUT2).c("fd_read", 0, IOV, 2, OUT2)
    p.c("fd_pread", 0, IOV, 1, 0, OUT2).c("fd_pwrite", 1, IOV, 1, 0, OUT2)
    p.c("fd_pread", 1, IOV, 1, 0, OUT2).c("fd_pwrite", 0, IOV, 1, 0, OUT2)
    p.c("fd_read", 1, IOV, 1, OUT2).c("fd_write", 0, IOV, 1, OUT2)
    p.c("fd_read", 3, IOV, 1, OUT2).c("fd_write", 3, IOV, 1, OUT2)
    # a write-only and a read-only descriptor
    p.open("g", rights=C.RIGHTS_FD_WRITE)    # 7
    p.c("fd_read", 7, IOV, 1, OUT2).c("fd_write", 7, IOV, 1, OUT2).c("fd_pread", 7, IOV, 1, 0, OUT2)
    p.open("g", rights=C.RIGHTS_FD_READ)     # 8
    p.c("fd_write", 8, IOV, 1, OUT2).c("fd_read", 8, IOV, 1, OUT2)
    p.c("fd_filestat_set_size", 8, 3).c("fd_filestat_set_size", 7, 3).c("fd_filestat_set_size", 7, 2**63)
    # large writes to stdout are cut in 4 KiB pieces
    p.w(DATA, bytes(range(256)) * 40).iov((DATA, 10000)).c("fd_write", 1, IOV, 1, OUT2)
    # append mode: writes go to the end, pwrite too (Linux), tell follows the size
    p.open("f", rights=RW, fdflags=C.FDFLAGS_APPEND)   # 9
    p.iov((DATA, 5)).c("fd_write", 9, IOV, 1, OUT2).c("fd_tell", 9, OUT)
    p.c("fd_pwrite", 9, IOV, 1, 0, OUT2).c("fd_tell", 9, OUT).c("fd_fdstat_get", 9, OUT)
    p.c("fd_fdstat_set_flags", 9, 0).c("fd_write", 9, IOV, 1, OUT2).c("fd_fdstat_get", 9, OUT)
    for flags in (1, 2, 4, 5, 8, 16, 32, 0x10000, 0xFFFFFFFF):
        p.c("fd_fdstat_set_flags", 9, flags).c("fd_fdstat_get", 9, OUT)
    for fd in (0, 1, 3, 99):
        p.c("fd_fdstat_set_flags", fd, 0)
    return p


def sc_bad_pointers() -> P:
    p = P().open("f", rights=RW)
    for ptr in (PAGE - 1, PAGE - 4, PAGE - 8, PAGE - 12, PAGE, PAGE + 8, 0xFFFFFFFF, OUT + 1,
                OUT + 2, OUT + 4):
        p.c("fd_fdstat_get", 6, ptr).c("fd_filestat_get", 6, ptr).c("fd_tell", 6, ptr)
        p.c("fd_prestat_get", 3, ptr).c("args_sizes_get", ptr, OUT).c("args_sizes_get", OUT, ptr)
        p.c("clock_res_get", 1, ptr).c("fd_fdstat_get", 99, ptr)
        p.c("environ_get", ptr, ARGV_BUF).c("environ_get", ARGV, ptr).c("args_get", ptr, ptr)
        p.c("random_get", ptr, 4).c("fd_prestat_dir_name", 3, ptr, 4)
        p.iov((ptr, 4)).c("fd_write", 1, IOV, 1, OUT2).c("fd_read", 0, IOV, 1, OUT2)
        p.c("fd_write", 6, IOV, 1, OUT2).c("fd_read", 6, IOV, 1, OUT2)
        p.c("fd_write", 6, ptr, 1, OUT2).c("fd_write", 99, ptr, 1, OUT2)
        p.c("fd_readdir", 3, ptr, 100, 0, OUT2).c("fd_readdir", 3, DIRBUF, 100, 0, ptr)
        p.c("path_open", 3, 0, ptr, 3, 0, 2, 2, 0, OUT).c("path_open", 3, 0, STR1, 1, 0, 2, 2, 0, ptr)
        p.c("path_filestat_get", 3, 0, STR1, 1, ptr).c("path_readlink", 3, STR1, 2, ptr, 10, OUT2)
        p.c("poll_oneoff", ptr, EVENTS, 1, OUT2).c("poll_oneoff", SUBS, ptr, 1, OUT2)
    for n in (0x1000000, 0x1000001, 0x10000000, 0x7FFFFFFF, 0xFFFFFFFF):
        p.c("fd_write", 1, 0, n, OUT2).c("fd_read", 0, 0, n, OUT2)
        p.c("path_open", 3, 0, 0, n, 0, 0, 0, 0, OUT).c("path_unlink_file", 3, 0, n)
        p.c("random_get", 0, n).c("poll_oneoff", 0, 0, n, OUT2)
    for n in range(2790000, 2800000, 1000):
        p.c("poll_oneoff", 0, 0, n, OUT2)
    p.iov((0, 0x8000001)).c("fd_write", 1, IOV, 1, OUT2).iov((0, 0x7FFFFFF)).c("fd_write", 1, IOV, 1, OUT2)
    return p


def sc_invalid_arguments() -> P:
    p = P().open("f", rights=RW)
    bad32 = (3, 4, 6, 31, 255, 256, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
    for v in bad32:
        p.c("clock_res_get", v, OUT).c("clock_time_get", v, 0, OUT)
        p.c("fd_seek", 6, 0, v, OUT).c("fd_advise", 6, 0, 0, v).c("proc_raise", v)
        p.c("fd_fdstat_set_flags", 6, v).c("fd_filestat_set_times", 6, 0, 0, v)
        p.c("path_open", 3, v, STR1, 1, 0, 0, 0, 0, OUT).c("path_open", 3, 0, STR1, 1, v, 0, 0, 0, OUT)
        p.c("path_open", 3, 0, STR1, 1, 0, 0, 0, v, OUT).c("sock_shutdown", 6, v)
        p.c("sock_recv", 6, IOV, 0, v, OUT, OUT2).c("sock_send", 6, IOV, 0, v, OUT)
        p.c("sock_accept", 6, v, OUT).c("path_filestat_get", 3, v, STR1, 1, OUT)
        p.c("path_link", 3, v, STR1, 1, 3, STR2, 1)
        p.c("fd_advise", 99, 0, 0, v).c("fd_seek", 99, 0, v, OUT)
    for r in (1 << 29, 1 << 30, 1 << 31, 1 << 32, 1 << 63, 2**64 - 1):
        p.c("fd_fdstat_set_rights", 6, r, 0).c("fd_fdstat_set_rights", 6, 0, r)
        p.c("path_open", 3, 0, STR1, 1, 0, r, 0, 0, OUT).c("path_open", 3, 0, STR1, 1, 0, 0, r, 0, OUT)
    for code in (0, 1, 125, 126, 255, 0xFFFFFFFF):
        p.c("proc_exit", code)
    for advice in range(6):
        p.c("fd_advise", 6, 0, 0, advice).c("fd_advise", 6, 2**63, 10, advice)
        p.c("fd_advise", 3, 0, 0, advice).c("fd_advise", 1, 0, 0, advice)
    for sig in (0, 1, 30):
        p.c("proc_raise", sig)
    for fd in (0, 1, 3, 6, 99):
        p.c("sock_accept", fd, 0, OUT).c("sock_recv", fd, IOV, 0, 0, OUT, OUT2)
        p.c("sock_send", fd, IOV, 0, 0, OUT).c("sock_shutdown", fd, 3)
        p.c("fd_fdstat_set_rights", fd, 0, 0).c("fd_allocate", fd, 0, 10)
        p.c("fd_datasync", fd).c("fd_sync", fd).c("sched_yield")
    return p


def sc_clocks() -> P:
    p = P()
    for clock in range(4):
        p.c("clock_res_get", clock, OUT).c("clock_time_get", clock, 0, OUT)
        p.c("clock_time_get", clock, 2**64 - 1, OUT2)
    return p


def sc_poll() -> P:
    p = P().open("f", rights=RW).open("ro/r".split("/")[1], rights=C.RIGHTS_FD_READ, dirfd=4)
    never = 10**13
    p.c("poll_oneoff", SUBS, EVENTS, 0, OUT2)
    cases = [
        [("c", 7, 1, 0, 0)],
        [("c", 7, 0, 0, 0)],
        [("c", 7, 1, 0, 1)],
        [("c", 7, 1, 5, 1)],
        [("c", 7, 0, 1, 1)],
        [("c", 7, 0, 2**64 - 1, 1), ("c", 8, 1, 0, 0)],
        [("c", 7, 2, 0, 0)],
        [("c", 7, 3, 0, 0), ("c", 8, 1, 0, 0)],
        [("c", 7, 4, 0, 0)],
        [("c", 7, 1, 0, 2)],
        [("c", 7, 1, 1_000_000, 0)],
        [("c", 7, 1, never, 0), ("c", 8, 1, 0, 0), ("c", 9, 0, never, 0)],
        [("c", 7, 1, never, 0), ("f", 8, 1, 0), ("f", 9, 2, 1), ("f", 10, 2, 2)],
        [("f", 8, 1, 6), ("f", 9, 2, 6), ("f", 10, 1, 7), ("f", 11, 2, 7)],
        [("f", 8, 1, 1)], [("f", 8, 2, 0)], [("f", 8, 1, 3)], [("f", 8, 2, 99)],
        [("c", 7, 1, 0, 0), ("f", 8, 1, 99)],
        [("c", 7, 1, 0, 0), ("x", 8, 3, 0)],
        [("c", 7, 1, 0, 0), ("x", 8, 255, 0)],
        [("c", 1, 1, 0, 0), ("c", 2, 1, 0, 0), ("c", 3, 0, 0, 0)],
    ]
    for case in cases:
        p.w(SUBS, bytes(48 * 5)).w(EVENTS, b"\xAA" * 32 * 5)
        for i, sub in enumerate(case):
            if sub[0] == "c":
                p.sub_clock(i, *sub[1:])
            elif sub[0] == "f":
                p.sub_fd(i, *sub[1:])
            else:
                p.w(SUBS + 48 * i, struct.pack("<QB", sub[1], sub[2]))
        p.c("poll_oneoff", SUBS, EVENTS, len(case), OUT2)
    # reading to the end gives a hangup flag on the read event
    p.c("fd_seek", 6, 0, 2, OUT).sub_fd(0, 1, 1, 6).c("poll_oneoff", SUBS, EVENTS, 1, OUT2)
    p.c("poll_oneoff", SUBS + 4, EVENTS, 1, OUT2).c("poll_oneoff", SUBS, EVENTS + 4, 1, OUT2)
    p.c("poll_oneoff", SUBS, PAGE - 16, 1, OUT2)
    return p


def sc_args_environ() -> P:
    p = P()
    p.c("args_sizes_get", OUT, OUT2).c("args_get", ARGV, ARGV_BUF)
    p.c("environ_sizes_get", OUT, OUT2).c("environ_get", ARGV + 0x100, ARGV_BUF + 0x100)
    p.c("args_get", ARGV + 2, ARGV_BUF).c("args_get", PAGE - 8, ARGV_BUF)
    p.c("args_get", ARGV, PAGE - 12).c("environ_get", ARGV, PAGE - 3)
    return p


def sc_readdir() -> P:
    p = P()
    for fd in (3, 4, 5):
        for cookie in (0, 1, 2, 3, 5, 100, 2**63):
            for size in (0, 1, 10, 24, 25, 30, 60, 200, 4000):
                p.w(DIRBUF, b"\xAA" * 4096).c("fd_readdir", fd, DIRBUF, size, cookie, OUT2)
    p.c("fd_readdir", 3, PAGE - 100, 4000, 0, OUT2)
    p.open("d", oflags=C.OFLAGS_DIRECTORY, rights=C.RIGHTS_FD_READDIR)   # 6
    p.c("fd_readdir", 6, DIRBUF, 4000, 0, OUT2).c("fd_fdstat_get", 6, OUT)
    p.open("f", rights=C.RIGHTS_FD_READ).c("fd_readdir", 7, DIRBUF, 4000, 0, OUT2)
    for fd in (0, 1, 99):
        p.c("fd_readdir", fd, DIRBUF, 4000, 0, OUT2)
    a, n = p.s(STR1, "new")
    p.c("path_create_directory", 3, a, n).c("fd_readdir", 3, DIRBUF, 4000, 0, OUT2)
    p.c("path_remove_directory", 3, a, n).c("fd_readdir", 3, DIRBUF, 4000, 0, OUT2)
    return p


def sc_filestat_and_times() -> P:
    p = P().open("f", rights=RW)   # 6
    for fd in (0, 1, 3, 4, 6, 99):
        p.c("fd_filestat_get", fd, OUT)
    for path in ("f", "lf", "d", "ld", "dangling", ".", "d/back", "nope", "../x", "/f"):
        for follow in (0, 1):
            a, n = p.s(STR1, path)
            p.c("path_filestat_get", 3, follow, a, n, OUT)
    times = (0, 1, 10**9 + 5, 1_600_000_000_123_456_789, 2**63, 2**64 - 1)
    for flags in range(16):
        for t in times[::2]:
            p.c("fd_filestat_set_times", 6, t, t + 1, flags).c("fd_filestat_get", 6, OUT)
    for fd in (0, 1, 3, 4, 99):
        p.c("fd_filestat_set_times", fd, 5, 5, 5).c("fd_filestat_set_times", fd, 5, 5, 0)
    for path, fd in (("f", 3), ("lf", 3), ("d", 3), ("r", 4), ("dangling", 3), ("nope", 3)):
        a, n = p.s(STR1, path)
        for follow in (0, 1):
            for flags in (0, 1, 4, 5, 10, 3):
                p.c("path_filestat_set_times", fd, follow, a, n, 10**9 * 7, 10**9 * 9, flags)
                p.c("path_filestat_get", fd, follow, a, n, OUT)
    return p


def sc_read_only_preopen() -> P:
    p = P()
    for path, oflags, rights in (("r", 0, C.RIGHTS_FD_READ), ("r", 0, C.RIGHTS_FD_WRITE),
                                 ("r", 0, 0), ("r", C.OFLAGS_TRUNC, C.RIGHTS_FD_READ),
                                 ("new", C.OFLAGS_CREAT, C.RIGHTS_FD_READ),
                                 ("rd", C.OFLAGS_DIRECTORY, 0), ("lr", 0, C.RIGHTS_FD_READ),
                                 ("r", 0, C.ALL_RIGHTS)):
        p.open(path, oflags, rights, dirfd=4)
        p.c("fd_fdstat_get", 6, OUT)
    p.c("fd_filestat_set_size", 6, 0).c("fd_filestat_set_times", 6, 0, 0, 5)
    p.w(DATA, b"xyz").iov((DATA, 3)).c("fd_write", 6, IOV, 1, OUT2).c("fd_pwrite", 6, IOV, 1, 0, OUT2)
    p.c("fd_filestat_set_times", 4, 0, 0, 5).c("fd_filestat_set_times", 4, 0, 0, 0)
    p.sub_fd(0, 1, 2, 6).c("poll_oneoff", SUBS, EVENTS, 1, OUT2)
    p.sub_fd(0, 1, 1, 6).c("poll_oneoff", SUBS, EVENTS, 1, OUT2)
    a, n = p.s(STR1, "rd")
    b, m = p.s(STR2, "moved")
    for fn in ("path_create_directory", "path_remove_directory", "path_unlink_file"):
        p.c(fn, 4, a, n)
    p.c("path_rename", 4, a, n, 4, b, m).c("path_rename", 4, a, n, 3, b, m)
    p.c("path_rename", 3, STR2 + 10, 0, 4, b, m)
    p.c("path_link", 4, 0, a, n, 4, b, m).c("path_link", 4, 0, a, n, 3, b, m)
    p.c("path_link", 3, 0, a, n, 4, b, m).c("path_symlink", a, n, 4, b, m)
    a, n = p.s(STR1, "f")
    p.c("path_link", 3, 0, a, n, 4, b, m).c("path_link", 3, 1, a, n, 3, b, m)
    p.c("path_rename", 3, a, n, 5, b, m).c("path_link", 3, 0, b, m, 5, a, n)
    return p


def sc_stdout_custom_chunks() -> P:
    p = P().w(DATA, bytes(range(256)) * 64)
    for n in (0, 1, 4095, 4096, 4097, 8192, 12289, 16384):
        p.iov((DATA, n)).c("fd_write", 1, IOV, 1, OUT2).c("fd_write", 2, IOV, 1, OUT2)
    return p


SCENARIOS: dict[str, Callable[[], P]] = {
    "fd_numbering": sc_fd_numbering,
    "seek_tell": sc_seek_tell,
    "read_write_iovecs": sc_read_write_iovecs,
    "bad_pointers": sc_bad_pointers,
    "invalid_arguments": sc_invalid_arguments,
    "clocks": sc_clocks,
    "poll": sc_poll,
    "args_environ": sc_args_environ,
    "readdir": sc_readdir,
    "filestat_and_times": sc_filestat_and_times,
    "read_only_preopen": sc_read_only_preopen,
    "stdout_custom_chunks": sc_stdout_custom_chunks,
}


# --- random programs -----------------------------------------------------------------------------

PATHS = ["f", "g", "big", "d", "d/e", "d/sub", "d/back", "empty", "lf", "ld", "ld/e", "dangling",
         "loop", "up", "abs", "new", "new2", "newdir", "newdir/x", "d/new", "ld/new", ".", "..",
         "", "/", "/f", "f/", "d/", "d/..", "d/../f", "../x", "./f", "d//e", "new/", "lf/",
         "ld/", "empty/", "x" * 300, "f/x", "r", "rd", "lr", "e", "sub", "back"]
RAW_PATHS = [b"a\0b", b"\xff\xfe", b"d/\xc3"]
TIMES = [0, 1, 10**9 + 5, 1_600_000_000_123_456_789, 2**63, 2**64 - 1]
RIGHTS = [0, C.RIGHTS_FD_READ, C.RIGHTS_FD_WRITE, RW, C.ALL_RIGHTS, C.RIGHTS_FD_READDIR,
          C.RIGHTS_FD_SEEK | C.RIGHTS_FD_TELL, C.DIRECTORY_RIGHTS, C.FILE_RIGHTS, 1 << 30]


class Gen:
    """Random WASI calls with arguments drawn from awkward pools."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.p = P()

    def pick(self, *options: Any) -> Any:
        return self.r.choice(options)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def fd(self) -> int:
        if self.chance(0.85):
            return self.r.randint(0, 12)
        return self.pick(13, 20, 99, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)

    def dirfd(self) -> int:
        return self.pick(3, 3, 3, 4, 5) if self.chance(0.85) else self.fd()

    def ptr(self, base: int, size: int = 8, align: int = 8) -> int:
        x = self.r.random()
        if x < 0.85:
            return base
        if x < 0.9:
            return base + self.pick(1, 2, 4)
        if x < 0.97:
            return PAGE - self.r.randint(0, size + 2)
        return self.pick(PAGE, 0xFFFFFFFF, 0)

    def path(self, addr: int) -> tuple[int, int]:
        if self.chance(0.06):
            raw = self.pick(*RAW_PATHS)
            self.p.w(addr, raw)
            return addr, len(raw)
        a, n = self.p.s(addr, self.pick(*PATHS))
        x = self.r.random()
        if x < 0.03:
            return PAGE - 2, n + 1
        if x < 0.05:
            return a, self.pick(0x10000000, PAGE)
        return a, n

    def flags(self, bits: int, width_bad: int) -> int:
        if self.chance(0.9):
            return self.r.getrandbits(bits)
        return self.pick(1 << bits, width_bad, 0xFFFFFFFF)

    def offset(self) -> int:
        return self.pick(0, 1, 5, 11, 100, 10239, 10240, 20000, 2**31, 2**62, 2**63 - 1,
                         2**63, 2**64 - 1, 2**64 - 5, 2**64 - 10000)

    def iovs(self, write: bool) -> tuple[int, int]:
        n = self.pick(0, 1, 1, 1, 2, 3)
        bufs = []
        for i in range(n):
            size = self.pick(0, 1, 5, 16, 100, 5000)
            ptr = DATA + 0x400 * i
            if self.chance(0.05):
                ptr = self.pick(PAGE - 3, PAGE + 4, 0xFFFFFFF0)
            bufs.append((ptr, size))
        if write and self.chance(0.5):
            self.p.w(DATA, bytes(self.r.getrandbits(8) for _ in range(64)))
        self.p.iov(*bufs) if bufs else None
        addr = IOV if not self.chance(0.04) else self.pick(IOV + 2, PAGE - 4, 0xFFFFFFF8)
        return addr, n if not self.chance(0.03) else self.pick(0x1000000, 0x10000001)

    def step(self) -> None:
        r, p = self.r, self.p
        kind = r.choices(
            ["open", "close", "renumber", "rw", "seek", "stat", "pathop", "readdir", "fdstat",
             "flags", "times", "poll", "misc", "link", "size"],
            weights=[18, 7, 3, 14, 6, 6, 10, 4, 4, 3, 3, 2, 3, 4, 2])[0]
        if kind == "open":
            a, n = self.path(STR1)
            oflags = self.flags(4, 0x10000) if self.chance(0.95) else 16
            if self.chance(0.5):
                oflags &= ~C.OFLAGS_DIRECTORY
            rights = self.pick(*RIGHTS)
            fdflags = self.pick(0, 0, 0, C.FDFLAGS_APPEND, C.FDFLAGS_NONBLOCK, C.FDFLAGS_SYNC,
                                C.FDFLAGS_DSYNC, 32)
            p.c("path_open", self.dirfd(), self.pick(0, 1, 1, 2), a, n, oflags, rights,
                self.pick(0, rights, C.ALL_RIGHTS), fdflags, self.ptr(OUT, 4, 4))
        elif kind == "close":
            p.c("fd_close", self.fd())
        elif kind == "renumber":
            p.c("fd_renumber", self.fd(), self.fd())
        elif kind == "rw":
            fn = self.pick("fd_read", "fd_write", "fd_pread", "fd_pwrite")
            a, n = self.iovs(fn in ("fd_write", "fd_pwrite"))
            if fn in ("fd_read", "fd_write"):
                p.c(fn, self.fd(), a, n, self.ptr(OUT2, 4, 4))
            else:
                p.c(fn, self.fd(), a, n, self.offset(), self.ptr(OUT2, 4, 4))
        elif kind == "seek":
            if self.chance(0.7):
                off = self.pick(0, 1, 3, -1, -5, 100, 10240, -10240, 2**62, -(2**62), 2**63 - 1)
                p.c("fd_seek", self.fd(), off & (2**64 - 1), self.pick(0, 1, 2, 2, 3, 256),
                    self.ptr(OUT, 8, 8))
            else:
                p.c("fd_tell", self.fd(), self.ptr(OUT, 8, 8))
        elif kind == "stat":
            if self.chance(0.5):
                p.c("fd_filestat_get", self.fd(), self.ptr(OUT, 64, 8))
            else:
                a, n = self.path(STR1)
                p.c("path_filestat_get", self.dirfd(), self.pick(0, 1, 2), a, n, self.ptr(OUT, 64, 8))
        elif kind == "pathop":
            fn = self.pick("path_create_directory", "path_remove_directory", "path_unlink_file",
                           "path_readlink", "path_symlink", "path_rename")
            a, n = self.path(STR1)
            if fn == "path_readlink":
                p.c(fn, self.dirfd(), a, n, self.ptr(DATA, 8, 1), self.pick(0, 1, 3, 100),
                    self.ptr(OUT2, 4, 4))
            elif fn == "path_symlink":
                b, m = self.path(STR2)
                p.c(fn, a, n, self.dirfd(), b, m)
            elif fn == "path_rename":
                b, m = self.path(STR2)
                p.c(fn, self.dirfd(), a, n, self.dirfd(), b, m)
            else:
                p.c(fn, self.dirfd(), a, n)
        elif kind == "link":
            a, n = self.path(STR1)
            b, m = self.path(STR2)
            p.c("path_link", self.dirfd(), self.pick(0, 0, 1, 2), a, n, self.dirfd(), b, m)
        elif kind == "readdir":
            p.w(DIRBUF, b"\xAA" * 512)
            p.c("fd_readdir", self.fd(), self.ptr(DIRBUF, 24, 8), self.pick(0, 10, 24, 40, 100, 512),
                self.pick(0, 0, 1, 2, 3, 4, 7, 2**63), self.ptr(OUT2, 4, 4))
        elif kind == "fdstat":
            fn = self.pick("fd_fdstat_get", "fd_prestat_get", "fd_prestat_dir_name")
            if fn == "fd_prestat_dir_name":
                p.c(fn, self.fd(), self.ptr(DATA, 4, 1), self.pick(0, 1, 2, 3, 10))
            else:
                p.c(fn, self.fd(), self.ptr(OUT, 24, 8))
        elif kind == "flags":
            if self.chance(0.7):
                p.c("fd_fdstat_set_flags", self.fd(), self.pick(0, 1, 4, 5, 2, 8, 16, 32, 0x10000))
            else:
                p.c("fd_fdstat_set_rights", self.fd(), self.pick(*RIGHTS), self.pick(*RIGHTS))
        elif kind == "times":
            flags = r.getrandbits(4) if self.chance(0.95) else 16
            if self.chance(0.5):
                p.c("fd_filestat_set_times", self.fd(), self.pick(*TIMES), self.pick(*TIMES), flags)
            else:
                a, n = self.path(STR1)
                p.c("path_filestat_set_times", self.dirfd(), self.pick(0, 1), a, n,
                    self.pick(*TIMES), self.pick(*TIMES), flags)
        elif kind == "size":
            fn = self.pick("fd_filestat_set_size", "fd_allocate", "fd_advise", "fd_sync",
                           "fd_datasync")
            if fn == "fd_filestat_set_size":
                p.c(fn, self.fd(), self.pick(0, 3, 100, 5000, 2**63, 2**64 - 1))
            elif fn == "fd_allocate":
                p.c(fn, self.fd(), 0, 10)
            elif fn == "fd_advise":
                p.c(fn, self.fd(), self.offset(), self.offset(), self.pick(0, 1, 2, 3, 4, 5, 6))
            else:
                p.c(fn, self.fd())
        elif kind == "poll":
            n = self.pick(1, 1, 2, 3)
            ready = self.r.randrange(n)  # at least one subscription is ready at once
            for i in range(n):
                if i == ready or self.chance(0.5):
                    if self.chance(0.5):
                        p.sub_clock(i, r.getrandbits(64), self.pick(0, 1, 1, 2), 0,
                                    self.pick(0, 0, 1))
                    else:
                        p.sub_fd(i, r.getrandbits(64), self.pick(1, 2), self.fd())
                else:
                    p.sub_clock(i, r.getrandbits(64), self.pick(0, 1), 10**13, 0)
            p.w(EVENTS, b"\xAA" * 32 * n)
            if n == 1:
                p.c("poll_oneoff", self.ptr(SUBS, 48, 8), self.ptr(EVENTS, 32, 8), n,
                    self.ptr(OUT2, 4, 4))
            else:  # how many events come back is a race in Wasmtime: keep them in bounds
                p.c("poll_oneoff", SUBS, EVENTS, n, OUT2)
        else:
            fn = self.pick("args_sizes_get", "args_get", "environ_sizes_get", "environ_get",
                           "clock_time_get", "clock_res_get", "random_get", "sched_yield",
                           "sock_shutdown", "sock_accept", "proc_raise")
            if fn in ("args_sizes_get", "environ_sizes_get"):
                p.c(fn, self.ptr(OUT, 4, 4), self.ptr(OUT2, 4, 4))
            elif fn in ("args_get", "environ_get"):
                p.c(fn, self.ptr(ARGV, 4, 4), self.ptr(ARGV_BUF, 8, 1))
            elif fn == "clock_time_get":
                p.c(fn, self.pick(0, 1, 2, 3, 4), 0, self.ptr(OUT, 8, 8))
            elif fn == "clock_res_get":
                p.c(fn, self.pick(0, 1, 2, 3, 4), self.ptr(OUT, 8, 8))
            elif fn == "random_get":
                p.c(fn, self.ptr(DATA, 16, 1), self.pick(0, 1, 16, 100))
            elif fn == "sched_yield":
                p.c(fn)
            elif fn == "sock_shutdown":
                p.c(fn, self.fd(), self.pick(0, 1, 3, 4))
            elif fn == "sock_accept":
                p.c(fn, self.fd(), self.pick(0, 4, 32), OUT)
            else:
                p.c(fn, self.pick(0, 9, 31))


#: Configurations the random programs run under (chosen by seed).
RANDOM_SETUPS = [
    lambda: Setup(config=list(DEFAULT_CONFIG)),
    lambda: Setup(config=list(DEFAULT_CONFIG)),
    lambda: Setup(config=[("stdin_file", "stdin"), ("preopen", ("root", "/", False)),
                          ("preopen", ("root", "/", True)), ("preopen", ("root/d", ".", False))]),
    lambda: Setup(config=[("argv", ["x"]), ("preopen", ("ro", "ro", True)),
                          ("preopen", ("root", "", True)), ("preopen", ("root", "/", True))],
                  stdout="file", stderr="default"),
]


def random_setup(seed: int) -> Setup:
    return RANDOM_SETUPS[seed % len(RANDOM_SETUPS)]()


def random_program(seed: int, length: int = 60) -> list[Step]:
    g = Gen(seed)
    for _ in range(length):
        g.step()
    if g.chance(0.1):
        g.p.c("proc_exit", g.pick(0, 3, 125, 126))
    return g.p.steps


def fd_churn_program(seed: int, length: int = 150) -> list[Step]:
    """Only opens, closes and renumbers: the descriptor allocator in depth."""
    r = random.Random(seed)
    p = P()
    a, n = p.s(STR1, "f")
    for _ in range(length):
        x = r.random()
        if x < 0.45:
            p.c("path_open", r.choice((3, 3, 4, 5, r.randint(0, 15))), 0, a, n, 0, 2, 2, 0, OUT)
        elif x < 0.85:
            p.c("fd_close", r.randint(0, 15))
        else:
            p.c("fd_renumber", r.randint(0, 15), r.randint(0, 15))
        if r.random() < 0.2:
            p.c("fd_prestat_get", r.randint(0, 15), OUT2)
    return p.steps


# --- the tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def _let_wasmtime_threads_finish():
    """Give Wasmtime's threads time to release the last stdout callbacks before the
    process exits (see :meth:`Side.close`)."""
    yield
    gc.collect()
    time.sleep(0.5)


def _check(res: Result) -> None:
    assert res.divergence is None, str(res.divergence)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, tmp_path: Path):
    _check(run_program(SCENARIOS[name]().steps, tmp_path))


RANDOM_SEEDS = range(int(os.environ.get("WASMLITE_WASI_DIFF_SEEDS", "60")))


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_sequence(seed: int, tmp_path: Path):
    _check(run_program(random_program(seed), tmp_path, random_setup(seed)))


@pytest.mark.parametrize("seed", range(10))
def test_fd_churn(seed: int, tmp_path: Path):
    _check(run_program(fd_churn_program(seed), tmp_path))


def test_stdio_to_files_and_defaults(tmp_path: Path):
    p = sc_stdout_custom_chunks()
    p.iov((DATA, 100)).c("fd_read", 0, IOV, 1, OUT2).c("fd_read", 0, IOV, 1, OUT2)
    for fd in (0, 1, 2):
        p.c("fd_fdstat_get", fd, OUT).c("fd_filestat_get", fd, OUT)
    _check(run_program(p.steps, tmp_path / "files",
                       Setup(config=[("stdin_file", "stdin")], stdout="file", stderr="file")))
    _check(run_program(p.steps, tmp_path / "defaults", Setup(config=[], stdout="default",
                                                              stderr="default")))


def test_inherited_stdio(tmp_path: Path):
    p = P()
    for fd in (0, 1, 2):
        p.c("fd_fdstat_get", fd, OUT).c("fd_filestat_get", fd, OUT)
    p.iov((DATA, 0)).c("fd_write", 1, IOV, 1, OUT2).c("fd_write", 2, IOV, 1, OUT2)
    setup = Setup(config=[("inherit_stdin", ()), ("inherit_stdout", ()), ("inherit_stderr", ())],
                  stdout="none", stderr="none")
    _check(run_program(p.steps, tmp_path, setup))


CONFIGS = {
    "argv_twice": [("argv", ["a", "b"]), ("argv", ["c"])],
    "env_twice": [("env", [("X", "1")]), ("env", [("Y", "2"), ("X", "3")])],
    "inherit_then_set": [("argv", ["first"]), ("inherit_argv", ()), ("argv", ["last"]),
                         ("env", [("A", "1")]), ("inherit_env", ()), ("env", [("Z", "9")])],
    "nul_in_strings": [("argv", ["a\0b", "c"]), ("env", [("K\0x", "v\0y")])],
    "tuple_argv": [("argv", ("x", "y")), ("argv", "str")],
    "stdin_missing": [("stdin_file", "no-such-file")],
    "preopen_missing": [("preopen", ("no-such-dir", "/", True))],
    "preopen_file": [("preopen", ("stdin", "/", True))],
    "preopens": [("preopen", ("root", "/", True)), ("preopen", ("ro", "", False)),
                 ("preopen", ("root/d", "/a/b/c", True)), ("preopen", ("root", "/", False))],
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config(name: str, tmp_path: Path):
    p = sc_args_environ()
    for fd in range(3, 8):
        p.c("fd_prestat_get", fd, OUT).c("fd_prestat_dir_name", fd, DATA, 20)
        p.c("fd_fdstat_get", fd, OUT)
    _check(run_program(p.steps, tmp_path, Setup(config=CONFIGS[name])))


CALLBACKS = {
    "short": lambda b: len(b) - 1,
    "exact": len,
    "zero": lambda b: 0,
    "minus_enoent": lambda b: -2,
    "minus_eio": lambda b: -5,
    "raises": lambda b: 1 // 0,
}


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_stdout_callback_results(name: str, tmp_path: Path, capsys: pytest.CaptureFixture):
    """What the ``stdout_custom`` callback returns decides the errno (fewer bytes than
    given, a negative errno, an exception: the write fails).  A callback returning a
    non-integer makes wasmtime-py crash the process (a Rust panic), so it is not
    compared."""
    p = sc_stdout_custom_chunks()
    _check(run_program(p.steps, tmp_path, Setup(config=[], callback_result=CALLBACKS[name])))


def test_many_directory_entries(tmp_path: Path):
    """``fd_readdir`` over a directory of several blocks (hash-ordered on ext4)."""
    def tree(base: Path) -> None:
        default_tree(base)
        for i in range(300):
            (base / "root" / "d" / f"entry-{i:03}-{'x' * (i % 40)}").write_bytes(b"")
    p = P()
    cookie_steps = (0, 1, 2, 3, 50, 150, 301, 302, 303, 400)
    for cookie in cookie_steps:
        p.c("fd_readdir", 5, DIRBUF, 8192, cookie, OUT2)
    for size in (100, 1000, 4096):
        p.c("fd_readdir", 5, DIRBUF, size, 7, OUT2)
    _check(run_program(p.steps, tmp_path, Setup(config=list(DEFAULT_CONFIG), tree=tree)))


def test_sockets_in_the_tree(tmp_path: Path):
    """A Unix socket is listed and stat'ed as ``unknown``; opening it fails (``EIO``,
    from ``ENXIO``).  (FIFOs are left out: opening one makes wasmtime-py 50 abort.)"""
    def tree(base: Path) -> None:
        default_tree(base)
        import socket
        cwd = os.getcwd()
        os.chdir(base / "root")
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind("sock")
        finally:
            os.chdir(cwd)
    p = P().c("fd_readdir", 3, DIRBUF, 4000, 0, OUT2)
    a, n = p.s(STR1, "sock")
    p.c("path_filestat_get", 3, 0, a, n, OUT).c("path_filestat_get", 3, 1, a, n, OUT)
    p.open("sock", rights=RW).open("sock", rights=0, oflags=C.OFLAGS_DIRECTORY)
    p.c("path_unlink_file", 3, a, n)
    _check(run_program(p.steps, tmp_path, Setup(config=list(DEFAULT_CONFIG), tree=tree)))


def test_missing_memory_export(tmp_path: Path):
    steps = [("c", name, tuple(0 for _ in FUNCTIONS[name][0])) for name in FUNCTIONS]
    _check(run_program(steps, tmp_path, memory=False))


def _config_use_after(api: Any, tmp_path: Path, close: bool) -> list:
    engine, _module = _engine_module(api)
    cfg = api.WasiConfig()
    if close:
        cfg.close()
    else:
        api.Store(engine).set_wasi(cfg)
    out = []
    actions = [
        ("argv", lambda: setattr(cfg, "argv", ["x"])),
        ("env", lambda: setattr(cfg, "env", [("a", "b")])),
        ("inherit_argv", cfg.inherit_argv), ("inherit_env", cfg.inherit_env),
        ("inherit_stdin", cfg.inherit_stdin), ("inherit_stdout", cfg.inherit_stdout),
        ("inherit_stderr", cfg.inherit_stderr),
        ("stdin_file", lambda: setattr(cfg, "stdin_file", str(tmp_path))),
        ("stdout_file", lambda: setattr(cfg, "stdout_file", str(tmp_path / "o"))),
        ("stderr_file", lambda: setattr(cfg, "stderr_file", str(tmp_path / "e"))),
        ("stdout_custom", lambda: setattr(cfg, "stdout_custom", print)),
        ("stderr_custom", lambda: setattr(cfg, "stderr_custom", print)),
        ("preopen_dir", lambda: cfg.preopen_dir(str(tmp_path), "/")),
        ("set_wasi", lambda: api.Store(engine).set_wasi(cfg)),
        ("close", cfg.close), ("close again", cfg.close),
    ]
    for name, fn in actions:
        try:
            fn()
            out.append((name, "ok"))
        except Exception as e:
            out.append((name, type(e).__name__, str(e)))
    return out


@pytest.mark.parametrize("close", [False, True], ids=["after_set_wasi", "after_close"])
def test_config_is_consumed(close: bool, tmp_path: Path):
    assert _config_use_after(wasmlite, tmp_path, close) == _config_use_after(wasmtime, tmp_path, close)


def test_config_files_are_opened_when_configured(tmp_path: Path):
    """``stdout_file`` creates (truncates) its file at once; ``stdin_file`` and
    ``preopen_dir`` hold on to what they opened even if the path changes later."""
    seen = {}
    for api in (wasmtime, wasmlite):
        base = tmp_path / api.__name__
        base.mkdir()
        (base / "out").write_text("old content")
        (base / "in").write_text("input")
        (base / "dir").mkdir()
        (base / "dir" / "x").write_text("x")
        cfg = api.WasiConfig()
        cfg.stdout_file = str(base / "out")
        created = (base / "out").read_text()
        cfg.stdin_file = str(base / "in")
        cfg.preopen_dir(str(base / "dir"), "/")
        os.rename(base / "in", base / "in2")
        os.rename(base / "dir", base / "dir2")
        engine, module = _engine_module(api)
        store = api.Store(engine)
        store.set_wasi(cfg)
        linker = api.Linker(engine)
        linker.define_wasi()
        ex = linker.instantiate(store, module).exports(store)
        mem = ex["memory"]
        mem.write(store, struct.pack("<II", DATA, 10), IOV)
        mem.write(store, b"x", STR1)
        r1 = ex["fd_read"](store, 0, IOV, 1, OUT2)
        r2 = ex["path_open"](store, 3, 0, STR1, 1, 0, 2, 2, 0, OUT)
        seen[api.__name__] = (created, r1, bytes(mem.read(store, DATA, DATA + 5)), r2)
        if api is wasmlite:
            store.wasi_ctx.close()
    assert seen["wasmlite"] == seen["wasmtime"]


def test_exit_codes(tmp_path: Path):
    for code in (0, 1, 42, 125, 126, 200, 0x7FFFFFFF, 0xFFFFFFFF):
        _check(run_program([("c", "proc_exit", (code,))], tmp_path / str(code)))


# --- more seeds from the command line --------------------------------------------------------------

def main(argv: list[str]) -> int:
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--length", type=int, default=60)
    ap.add_argument("--churn", action="store_true", help="descriptor churn programs")
    args = ap.parse_args(argv)
    failed = calls = 0
    for seed in range(args.first, args.first + args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            steps = (fd_churn_program(seed, args.length) if args.churn
                     else random_program(seed, args.length))
            res = run_program(steps, Path(tmp), None if args.churn else random_setup(seed))
            calls += res.calls
            if res.divergence:
                failed += 1
                print(f"--- seed {seed}\n{res.divergence}\n")
    print(f"{args.seeds - failed} passed, {failed} failed, {calls} calls")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
