"""The fuzzer's child process: runs test cases under one runtime and reports outcomes.

Started by :mod:`fuzz.pool` as ``python fuzz/worker.py RUNTIME OPTIONS_JSON`` with
``RUNTIME`` ``wasmlite`` or ``wasmtime`` (wasmtime-py, the oracle).  It reads requests
from stdin and writes one reply per request to the original stdout; each message is a
4-byte little-endian length and a pickle.  Anything else the process prints goes to
stderr (fd 1 is pointed at fd 2), so a module or runtime cannot corrupt the protocol.
``faulthandler`` is on, so a fatal signal leaves a Python traceback on stderr.

Requests (dicts):

* ``{"op": "validate", "wasm": bytes}`` -> ``{"verdict": "valid"}``,
  ``{"verdict": "invalid", "type": ..., "message": ...}`` (a ``WasmtimeError``) or
  ``{"verdict": "exception", "type": ..., "message": ...}`` (anything else);
* ``{"op": "selftest", "what": "crash"|"hang"}`` kills the process with ``SIGSEGV`` or
  makes it sleep for an hour (for the fuzzer's own tests);
* ``{"op": "run", "wasm", "provider", "nimports", "exports", "funcs", "fuel"}``: compile
  ``wasm``, instantiate ``provider`` and pass its exports ``"0"..`` as the imports,
  instantiate ``wasm``, call each exported function of ``funcs`` (name -> (params,
  results) valtype bytes) with zero/null arguments after ``Store.set_fuel(fuel)``, then
  read every export of ``exports`` (``(name, kind)``) and every import; see
  :func:`Runner.run` for the reply.

Values in replies are ``(type, bits)`` with numbers as their raw bit patterns (f32/f64
NaN payloads kept, v128 a 128-bit int) and references as labels: ``"null"``,
``"func:<export name>"`` for a function the module defines and exports, ``"func"`` for
any other function, ``"extern"`` for a non-null externref.
"""

from __future__ import annotations

import ctypes
import faulthandler
import hashlib
import json
import os
import pickle
import signal
import struct
import sys
import time
import traceback
from typing import Any

VALTYPE_NAMES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
                 0x70: "funcref", 0x6F: "externref"}
REF_NAMES = ("funcref", "externref")
#: memories up to this many pages also report a digest per page (to say where they differ)
PAGE_DIGEST_LIMIT = 256
PAGE = 65536
#: wasmlite's ``max_wasm_stack`` for a rerun with a big stack (capped by wasmlite to the
#: thread's stack size minus 256 KiB: 7.75 MiB on the main thread with ``ulimit -s 8192``)
BIG_STACK = 16 << 20


def read_msg(stream: Any) -> Any:
    """One length-prefixed pickle from ``stream``, or ``None`` at end of file."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack("<I", head)
    body = stream.read(n)
    if len(body) < n:
        return None
    return pickle.loads(body)


def write_msg(stream: Any, obj: Any) -> None:
    """Write ``obj`` as a length-prefixed pickle and flush."""
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<I", len(body)) + body)
    stream.flush()


def _exc(e: BaseException) -> dict:
    t = type(e)
    return {"type": f"{t.__module__}.{t.__qualname__}", "message": str(e)[:2000]}


_ZERO_PAGE = bytes(PAGE)
_OS_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_ZERO_DIGEST = hashlib.blake2b(_ZERO_PAGE, digest_size=8).hexdigest()


def _resident(addr: int, length: int) -> bytes | None:
    """``mincore(2)`` of ``[addr, addr+length)``: one byte per OS page, bit 0 set when
    the page is resident; ``None`` where unavailable.  A page of an anonymous mapping
    that was never touched is not resident and reads as zeros, so the fuzzer need not
    read (and fault in) the untouched gigabytes of a big memory."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mincore = libc.mincore
    except (OSError, AttributeError):
        return None
    npages = (length + _OS_PAGE - 1) // _OS_PAGE
    vec = (ctypes.c_ubyte * npages)()
    if mincore(ctypes.c_void_p(addr), ctypes.c_size_t(length), vec) != 0:
        return None
    return bytes(vec)


def _memory_state(addr: int, length: int) -> dict:
    """``{"pages", "digest"[, "page_digests"]}`` of the memory at ``addr`` (``length``
    bytes): the digest covers the index and bytes of every wasm page that is not all
    zeros; pages that were never touched (see :func:`_resident`) are zeros unread."""
    pages = length // PAGE
    resident = _resident(addr, length) if length else b""
    per = PAGE // _OS_PAGE
    h = hashlib.blake2b(digest_size=16)
    page_digests = [] if pages <= PAGE_DIGEST_LIMIT else None
    for i in range(pages):
        if resident is not None and not any(b & 1 for b in resident[i * per:(i + 1) * per]):
            data = None
        else:
            data = ctypes.string_at(addr + i * PAGE, PAGE)
            if data == _ZERO_PAGE:
                data = None
        if data is not None:
            h.update(struct.pack("<I", i))
            h.update(data)
        if page_digests is not None:
            page_digests.append(_ZERO_DIGEST if data is None
                                else hashlib.blake2b(data, digest_size=8).hexdigest())
    out: dict[str, Any] = {"pages": pages, "digest": h.hexdigest()}
    if page_digests is not None:
        out["page_digests"] = page_digests
    return out


def _rle(labels: list[str]) -> list[list]:
    out: list[list] = []
    for lab in labels:
        if out and out[-1][0] == lab:
            out[-1][1] += 1
        else:
            out.append([lab, 1])
    return out


class Runner:
    """Runs requests under one runtime; subclasses adapt the value access that the
    common wasmtime-py API cannot do bit-exactly (raw calls, v128, NaN payloads)."""

    rt: Any

    def __init__(self, opts: dict):
        self.opts = opts
        self.engine = self.rt.Engine(self.config(opts))
        self._big_engine: Any = None

    def config(self, opts: dict, big_stack: bool = False) -> Any:
        raise NotImplementedError

    def engine_for(self, req: dict) -> Any:
        """The engine of the request: with ``"big_stack"`` one whose
        ``max_wasm_stack`` is :data:`BIG_STACK` (made on first use)."""
        if not req.get("big_stack"):
            return self.engine
        if self._big_engine is None:
            self._big_engine = self.rt.Engine(self.config(self.opts, big_stack=True))
        return self._big_engine

    # -- runtime specifics --------------------------------------------------------------
    def func_id(self, f: Any) -> Any:
        raise NotImplementedError

    def call(self, store: Any, f: Any, params: tuple[int, ...], results: tuple[int, ...]) -> list:
        """Call ``f`` with zero arguments; returns ``(type, bits-or-label)`` pairs."""
        raise NotImplementedError

    def global_value(self, store: Any, g: Any) -> tuple[str, Any]:
        raise NotImplementedError

    def memory_range(self, store: Any, m: Any) -> tuple[int, int]:
        """``(address, length in bytes)`` of memory ``m``."""
        n = m.data_len(store)
        if n == 0:
            return 0, 0
        return ctypes.addressof(m.data_ptr(store).contents), n

    # -- common -------------------------------------------------------------------------
    def label(self, f: Any) -> str:
        if f is None:
            return "null"
        name = self.labels.get(self.func_id(f))
        return "func:" + name if name is not None else "func"

    def ref_value(self, kind: str, v: Any) -> tuple[str, str]:
        """The label of a reference as the Python API returns it (a null can be
        ``None`` or a ``Val`` holding ``None``)."""
        if isinstance(v, self.rt.Val):
            v = v.value
        if kind == "funcref":
            return (kind, self.label(v if isinstance(v, self.rt.Func) else None))
        return (kind, "null" if v is None else "extern")

    def validate(self, req: dict) -> dict:
        try:
            self.rt.Module(self.engine, req["wasm"])
        except self.rt.WasmtimeError as e:
            return {"verdict": "invalid", **_exc(e)}
        except Exception as e:  # noqa: BLE001 - the point is to report it
            return {"verdict": "exception", **_exc(e), "traceback": traceback.format_exc()[-3000:]}
        return {"verdict": "valid"}

    def trap_or_error(self, e: BaseException) -> dict:
        if isinstance(e, self.rt.Trap):
            code = e.trap_code
            return {"status": "trap", "code": code.name if code is not None else None,
                    "message": str(e).strip().splitlines()[-1][:500]}
        return {"status": "error", **_exc(e)}

    def run(self, req: dict) -> dict:
        """Compile, instantiate, call and read back; the reply has ``compile`` (``{"status":
        "ok"}`` or an error), then ``instantiate`` (ok, trap or error), ``calls`` (one per
        exported function: ``{"name", "status": "ok", "values", "fuel"}``, a trap with its
        ``code`` or an error) and ``state`` (export or ``import:<i>`` name -> a memory's
        pages and digests, a table's run-length encoded labels, a global's value)."""
        rt = self.rt
        out: dict[str, Any] = {}
        engine = self.engine_for(req)
        store = rt.Store(engine)
        fuel = req["fuel"]
        try:
            module = rt.Module(engine, req["wasm"])
        except Exception as e:  # noqa: BLE001
            out["compile"] = {"status": "error", **_exc(e)}
            return out
        out["compile"] = {"status": "ok"}
        store.set_fuel(fuel)
        imports: list[Any] = []
        inst = None
        try:
            if req["nimports"]:
                # the provider's imports may be beyond what the host can allocate (a
                # 64-bit memory of 2**48 pages): then instantiation fails, in both
                prov = rt.Instance(store, rt.Module(engine, req["provider"]), [])
                pex = prov.exports(store)
                imports = [pex[str(i)] for i in range(req["nimports"])]
            inst = rt.Instance(store, module, imports)
            out["instantiate"] = {"status": "ok"}
        except Exception as e:  # noqa: BLE001
            out["instantiate"] = self.trap_or_error(e)
        items: list[tuple[str, Any]] = [(f"import:{i}", x) for i, x in enumerate(imports)]
        self.labels = {}
        calls = []
        if inst is not None:
            ex = inst.exports(store)
            for name, _kind in req["exports"]:
                items.append((name, ex[name]))
            for name in req["func_names"]:
                self.labels[self.func_id(ex[name])] = name
            for name, (params, results) in req["funcs"]:
                f = ex[name]
                store.set_fuel(fuel)
                try:
                    vals = self.call(store, f, params, results)
                    rec = {"name": name, "status": "ok", "values": vals}
                except Exception as e:  # noqa: BLE001
                    rec = {"name": name, **self.trap_or_error(e)}
                rec["fuel"] = store.get_fuel()
                calls.append(rec)
        out["calls"] = calls
        state: dict[str, Any] = {}
        for name, x in items:
            if isinstance(x, rt.Memory):
                state[name] = {"memory": _memory_state(*self.memory_range(store, x))}
            elif isinstance(x, rt.Table):
                kind = str(x.type(store).element)
                labels = [self.ref_value("funcref" if "func" in kind else "externref",
                                         x.get(store, i))[1] for i in range(x.size(store))]
                state[name] = {"table": _rle(labels)}
            elif isinstance(x, rt.Global):
                state[name] = {"global": self.global_value(store, x)}
        out["state"] = state
        return out


class WasmliteRunner(Runner):
    """wasmlite, with ``Config.opt_level``, ``Config.signals_based_traps`` and
    ``Config.strategy`` from the options; values through ``Func.call_raw`` and ``Global.raw_value``."""

    def __init__(self, opts: dict):
        import wasmlite

        self.rt = wasmlite
        super().__init__(opts)

    def config(self, opts: dict, big_stack: bool = False) -> Any:
        cfg = self.rt.Config()
        cfg.opt_level = opts.get("opt_level", "2")
        cfg.signals_based_traps = opts.get("bounds_checks", "guard") == "guard"
        cfg.strategy = opts.get("strategy", "auto")
        # the oracle runs without GC (WasmtimeRunner.OFF), to which Wasmtime ties the
        # 3.0 rule that constant expressions may read defined globals
        cfg.wasm_gc = False
        cfg.consume_fuel = True
        if big_stack:
            cfg.max_wasm_stack = BIG_STACK
        return cfg

    def func_id(self, f: Any) -> Any:
        return f._addr

    def call(self, store: Any, f: Any, params: tuple[int, ...], results: tuple[int, ...]) -> list:
        args = [None if VALTYPE_NAMES[p] in REF_NAMES else 0 for p in params]
        raw = f.call_raw(store, *args)
        out = []
        for t, v in zip(results, raw, strict=True):
            kind = VALTYPE_NAMES[t]
            out.append(self.ref_value(kind, v) if kind in REF_NAMES else (kind, v))
        return out

    def global_value(self, store: Any, g: Any) -> tuple[str, Any]:
        kind = str(g.type(store).content)
        if kind in REF_NAMES:
            return self.ref_value(kind, g.value(store))
        return (kind, g.raw_value(store))


class WasmtimeRunner(Runner):
    """wasmtime-py 50 (the oracle), with the proposals wasmlite lacks switched off; calls
    and globals through its C API bindings (``wasmtime_func_call``,
    ``wasmtime_global_get``), since its ``Val`` has no v128 and turns f32 into Python
    floats (which quiets signalling NaNs)."""

    #: wasmtime-py Config switches turned off: the proposals wasmlite does not implement
    #: (it implements WebAssembly 2.0, multi-memory, memory64, tail calls, typed function
    #: references and relaxed SIMD, which gives the same results in both on the same host)
    OFF = ("wasm_threads", "wasm_gc", "wasm_exceptions", "wasm_wide_arithmetic",
           "wasm_custom_page_sizes", "wasm_stack_switching")

    def __init__(self, opts: dict):
        import wasmtime
        from wasmtime import _ffi

        self.rt = wasmtime
        self.ffi = _ffi
        self.kinds = {0: "i32", 1: "i64", 2: "f32", 3: "f64", 4: "v128", 5: "funcref",
                      6: "externref"}
        self.kind_of = {0x7F: 0, 0x7E: 1, 0x7D: 2, 0x7C: 3, 0x7B: 4, 0x70: 5, 0x6F: 6}
        super().__init__(opts)

    def config(self, opts: dict, big_stack: bool = False) -> Any:
        cfg = self.rt.Config()
        for name in self.OFF:
            setattr(cfg, name, False)
        cfg.consume_fuel = True
        return cfg

    def func_id(self, f: Any) -> Any:
        return getattr(f._func, "__private")

    def _value(self, store: Any, val: Any) -> tuple[str, Any]:
        ffi = self.ffi
        kind = self.kinds[val.kind]
        raw = ctypes.string_at(ctypes.addressof(val.of), 16)
        if kind == "funcref":
            fr = val.of.funcref
            if fr.store_id == 0:
                return (kind, "null")
            return (kind, self.label(self.rt.Func._from_raw(fr)))
        if kind == "externref":
            res = (kind, "null" if val.of.externref.store_id == 0 else "extern")
            ffi.wasmtime_val_unroot(ctypes.byref(val))
            return res
        size = {"i32": 4, "f32": 4, "i64": 8, "f64": 8, "v128": 16}[kind]
        return (kind, int.from_bytes(raw[:size], "little"))

    def call(self, store: Any, f: Any, params: tuple[int, ...], results: tuple[int, ...]) -> list:
        ffi = self.ffi
        args = (ffi.wasmtime_val_t * max(len(params), 1))()
        for i, p in enumerate(params):
            args[i].kind = self.kind_of[p]
        res = (ffi.wasmtime_val_t * max(len(results), 1))()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        err = ffi.wasmtime_func_call(store._context(), ctypes.byref(f._func), args, len(params),
                                     res, len(results), ctypes.byref(trap))
        if err:
            raise self.rt.WasmtimeError._from_ptr(err)
        if trap:
            raise self.rt.Trap._from_ptr(trap)
        return [self._value(store, res[i]) for i in range(len(results))]

    def global_value(self, store: Any, g: Any) -> tuple[str, Any]:
        val = self.ffi.wasmtime_val_t()
        self.ffi.wasmtime_global_get(store._context(), ctypes.byref(g._global), ctypes.byref(val))
        return self._value(store, val)


def main(argv: list[str]) -> int:
    runtime, opts = argv[1], json.loads(argv[2])
    proto_in = sys.stdin.buffer
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    faulthandler.enable()
    runner: Runner = WasmliteRunner(opts) if runtime == "wasmlite" else WasmtimeRunner(opts)
    write_msg(proto_out, {"ready": runtime})
    while True:
        req = read_msg(proto_in)
        if req is None:
            return 0
        limit = req.get("limit")
        if limit:
            # every thread's stack to stderr, which the pool reports with a hang
            faulthandler.dump_traceback_later(max(limit - 3.0, limit / 2), exit=False)
        if req["op"] == "selftest":
            # tests/test_fuzz.py checks that the pool catches a dead or stuck worker
            if req["what"] == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            time.sleep(3600)
        try:
            if req["op"] == "validate":
                reply = runner.validate(req)
            else:
                reply = runner.run(req)
        except Exception as e:  # noqa: BLE001 - a fuzzer bug or a runtime's, reported
            reply = {"internal": {**_exc(e), "traceback": traceback.format_exc()[-4000:]}}
        finally:
            faulthandler.cancel_dump_traceback_later()
        write_msg(proto_out, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
