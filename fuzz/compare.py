"""How the fuzzer judges one case: wasmtime-py's outcome (the oracle) against wasmlite's.

The outcomes are the replies of ``fuzz/worker.py`` (or of :mod:`fuzz.pool` when the
process died or hung).  :func:`compare_run` (generate mode) and :func:`compare_validate`
(mutate mode) return a :class:`Verdict`: ``pass``, ``fail`` with a failure kind, or
``inconclusive`` with the reason the two outcomes cannot be compared.

**NaNs.** By default generated modules come from ``wasm-tools smith
--canonicalize-nans``: every float operation that can produce a NaN is followed by
code that replaces it with the canonical NaN, so every bit a module can observe is
deterministic and values are compared bit for bit, memories included.  With
``nan_classes=True`` (``--raw-nans``) a float result or global that is a NaN in the
oracle only needs to be a NaN of the same class in wasmlite (spec §4.3.3): a canonical
NaN (payload ``1000…0``) for a canonical one, any arithmetic NaN (quiet bit set) for an
arithmetic one, sign free; a signalling NaN can only come from bit-exact operations
(``reinterpret``, loads, ``neg``/``abs``/``copysign``, constants) and must match exactly,
as must v128 values (no lane shape to go by) and memory bytes.

**Embedder-defined differences.**  Two traps are limits the embedder sets, not
semantics: ``OUT_OF_FUEL`` (wasmlite checks fuel at ``memory.grow``/``table.grow``
where Wasmtime only charges it, so exhaustion can happen at different points) and
``STACK_OVERFLOW`` (wasmlite's ``max_wasm_stack`` is 1 MiB, Wasmtime's 512 KiB, and
frame sizes differ).  When either side traps with one of them, the case is *tainted*
from that call on: a difference found later (or in that call) makes the case
``inconclusive`` ("out of fuel (both)", "stack exhausted (wasmlite only)", ...), while
differences found before it are failures as usual, and a case with no difference at
all passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: trap codes that are embedder limits, and the reason word used for them
TAINTS = {"OUT_OF_FUEL": "out of fuel", "STACK_OVERFLOW": "stack exhausted"}

_F32_EXP, _F32_MANT, _F32_QUIET = 0x7F800000, 0x007FFFFF, 0x00400000
_F64_EXP, _F64_MANT, _F64_QUIET = 0x7FF0000000000000, 0x000FFFFFFFFFFFFF, 0x0008000000000000


@dataclass
class Verdict:
    """``status`` is ``"pass"``, ``"fail"`` or ``"inconclusive"``; ``kind`` names the
    failure (``"missing trap"``, ``"crash (SIGSEGV)"``, ...) or the reason; ``detail``
    says where and what, for the report."""

    status: str
    kind: str = ""
    detail: str = ""


def nan_class(valtype: str, bits: int) -> str | None:
    """``None`` when ``bits`` of ``valtype`` (``"f32"``/``"f64"``) is not a NaN, else
    ``"canonical"``, ``"arithmetic"`` (quiet, other payload) or ``"signalling"``."""
    if valtype == "f32":
        exp, mant, quiet = _F32_EXP, _F32_MANT, _F32_QUIET
    elif valtype == "f64":
        exp, mant, quiet = _F64_EXP, _F64_MANT, _F64_QUIET
    else:
        return None
    if bits & exp != exp or not bits & mant:
        return None
    if bits & mant == quiet:
        return "canonical"
    return "arithmetic" if bits & quiet else "signalling"


def values_match(valtype: str, oracle: Any, candidate: Any, nan_classes: bool = False) -> bool:
    """Whether ``candidate`` is an acceptable value where the oracle gave ``oracle``
    (both raw bits, or reference labels), under the NaN rule of the module docstring."""
    if oracle == candidate:
        return True
    if not nan_classes:
        return False
    want = nan_class(valtype, oracle)
    if want is None or want == "signalling":
        return False
    got = nan_class(valtype, candidate)
    if want == "canonical":
        return got == "canonical"
    return got in ("canonical", "arithmetic")


def format_value(v: Any) -> str:
    """``(type, bits)`` as ``"i32:0x0000002a"`` (references: ``"funcref:func:name"``)."""
    t, x = v
    if isinstance(x, int):
        width = {"i32": 8, "f32": 8, "i64": 16, "f64": 16, "v128": 32}.get(t, 1)
        return f"{t}:{x:#0{width + 2}x}"
    return f"{t}:{x}"


def format_outcome(o: dict | None) -> str:
    """One line for a call's or an instantiation's outcome."""
    if o is None:
        return "(missing)"
    s = o.get("status")
    if s == "ok":
        vals = o.get("values")
        text = "ok" if vals is None else "returned [" + ", ".join(map(format_value, vals)) + "]"
    elif s == "trap":
        text = f"trap {o.get('code')} ({o.get('message')})"
    elif s != "error":
        text = str(s)
    else:
        text = f"error {o.get('type')}: {o.get('message')}"
    if "fuel" in o:
        text += f", fuel left {o['fuel']}"
    return text


def _taint(o: dict, c: dict) -> str | None:
    """The taint reason of a pair of outcomes, or ``None``: ``"<limit> (both)"``,
    ``"<limit> (wasmlite only)"``/``"(wasmtime only)"`` when the other side did not hit
    a limit, or ``"<limit> (wasmlite), <limit> (wasmtime)"`` for two different limits
    (e.g. Wasmtime's stack overflows where LLVM turned the recursion into a loop)."""
    oc = o.get("code") if o.get("status") == "trap" else None
    cc = c.get("code") if c.get("status") == "trap" else None
    if oc in TAINTS and cc in TAINTS:
        if oc == cc:
            return f"{TAINTS[oc]} (both)"
        return f"{TAINTS[cc]} (wasmlite), {TAINTS[oc]} (wasmtime)"
    if cc in TAINTS:
        return f"{TAINTS[cc]} (wasmlite only)"
    if oc in TAINTS:
        return f"{TAINTS[oc]} (wasmtime only)"
    return None


def _is_wasmtime_error(o: dict) -> bool:
    return o.get("type", "").rsplit(".", 1)[-1] in ("WasmtimeError", "DecodeError",
                                                     "ValidationError")


def _outcome_kind(o: dict, c: dict, nan_classes: bool) -> str | None:
    """The failure kind of a call/instantiation outcome pair, or ``None`` if they agree."""
    os_, cs = o.get("status"), c.get("status")
    if cs == "calls differ":
        return "call list mismatch"
    if cs == "error":
        if not _is_wasmtime_error(c):
            return "non-WasmtimeError exception"
        if os_ != "error":
            return "unexpected error"
        return None
    if os_ == "error":
        return "oracle error"
    if os_ == "trap" and cs == "ok":
        return "missing trap"
    if os_ == "ok" and cs == "trap":
        return "unexpected trap"
    if os_ == "trap":
        return None if o.get("code") == c.get("code") else "wrong trap code"
    ov, cv = o.get("values"), c.get("values")
    if ov is None and cv is None:
        return None
    if ov is None or cv is None or len(ov) != len(cv):
        return "result mismatch"
    for (ot, ox), (ct, cx) in zip(ov, cv, strict=True):
        if ot != ct or not values_match(ot, ox, cx, nan_classes):
            return "result mismatch"
    if o.get("fuel") is not None and o.get("fuel") != c.get("fuel"):
        return "fuel mismatch"
    return None


def _process_verdict(oracle: dict, cand: dict) -> Verdict | None:
    cp, op = cand.get("process"), oracle.get("process")
    if cp == "crash":
        return Verdict("fail", f"crash ({cand.get('signal')})", cand.get("stderr", "")[-3000:])
    if cp == "hang":
        if op == "hang":
            return Verdict("inconclusive", "timeout (both)")
        return Verdict("fail", "hang", f"no answer within {cand.get('seconds')} s")
    if op:
        return Verdict("inconclusive", f"oracle {op}", oracle.get("stderr", "")[-3000:])
    if "internal" in cand:
        return Verdict("fail", "non-WasmtimeError exception",
                       "while reading the outcome: " + cand["internal"].get("traceback", ""))
    if "internal" in oracle:
        return Verdict("inconclusive", "oracle internal error",
                       oracle["internal"].get("traceback", ""))
    return None


def _state_diff(o: dict, c: dict, nan_classes: bool) -> tuple[str, str] | None:
    """The first difference of the final states, as ``(kind, detail)``."""
    if sorted(o) != sorted(c):
        return "state mismatch", f"exports read: wasmtime {sorted(o)}, wasmlite {sorted(c)}"
    for name in o:
        a, b = o[name], c[name]
        if "memory" in a:
            ma, mb = a["memory"], b.get("memory") or {}
            if ma["pages"] != mb.get("pages"):
                return "memory mismatch", (f"memory {name!r}: {ma['pages']} pages (wasmtime), "
                                           f"{mb.get('pages')} (wasmlite)")
            if ma["digest"] != mb.get("digest"):
                pa, pb = ma.get("page_digests"), mb.get("page_digests")
                where = ""
                if pa and pb:
                    where = ", pages " + ", ".join(
                        str(i) for i, (x, y) in enumerate(zip(pa, pb, strict=True)) if x != y)
                return "memory mismatch", f"memory {name!r}: contents differ{where}"
        elif "table" in a:
            if a["table"] != b.get("table"):
                return "table mismatch", (f"table {name!r}: wasmtime {_short(a['table'])}, "
                                          f"wasmlite {_short(b.get('table'))}")
        elif "global" in a:
            ga, gb = a["global"], b.get("global")
            if gb is None or ga[0] != gb[0] or not values_match(ga[0], ga[1], gb[1], nan_classes):
                return "global mismatch", (f"global {name!r}: wasmtime {format_value(ga)}, "
                                           f"wasmlite {format_value(gb) if gb else None}")
    return None


def _short(x: Any, limit: int = 300) -> str:
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "…"


def one_sided_taint(v: Verdict) -> bool:
    """Whether ``v`` is inconclusive because only one side hit a limit (a case worth
    rerunning with more fuel and stack, see :func:`compare_run`)."""
    return v.status == "inconclusive" and v.kind.endswith(" only)")


def compare_run(oracle: dict, cand: dict, nan_classes: bool = False,
                escalated: bool = False) -> Verdict:
    """Judge a generate-mode case (see the module docstring).

    ``escalated``: the outcomes come from a rerun with 16 times the fuel (and, for
    wasmlite, a stack of several MiB) after a first run where only wasmlite hit a
    limit.  If wasmlite still runs out of fuel or stack where wasmtime-py trapped
    otherwise or returned, it is not a limit any more but wasmlite running on where
    it should not: ``"missing trap"`` (wasmtime trapped) or ``"unexpected trap"``
    (wasmtime returned).
    """
    v = _process_verdict(oracle, cand)
    if v is not None:
        return v
    oc, cc = oracle["compile"], cand["compile"]
    if oc["status"] != "ok" or cc["status"] != "ok":
        if oc["status"] == "ok":
            kind = "compile error" if _is_wasmtime_error(cc) else "non-WasmtimeError exception"
            return Verdict("fail", kind, f"wasmlite: {cc.get('type')}: {cc.get('message')}")
        if cc["status"] == "ok":
            return Verdict("inconclusive", "oracle rejects module", oc.get("message", ""))
        return Verdict("inconclusive", "both reject module", oc.get("message", ""))

    tainted: str | None = None
    ocalls, ccalls = oracle.get("calls", []), cand.get("calls", [])
    steps = [("instantiation", oracle["instantiate"], cand["instantiate"])]
    if [x["name"] for x in ocalls] == [x["name"] for x in ccalls]:
        steps += [(f"call {o['name']!r}", o, c) for o, c in zip(ocalls, ccalls, strict=True)]
    else:
        # only when the instantiations agree (else that difference is reported)
        steps.append((f"called {[x['name'] for x in ocalls]} in wasmtime, "
                      f"{[x['name'] for x in ccalls]} in wasmlite",
                      {"status": "ok"}, {"status": "calls differ"}))
    for where, o, c in steps:
        t = _taint(o, c)
        kind = _outcome_kind(o, c, nan_classes) if t is None else None
        if t is not None and not t.endswith("(both)"):
            detail = f"{where}: wasmtime {format_outcome(o)}; wasmlite {format_outcome(c)}"
            if escalated and t.endswith("(wasmlite only)") and not tainted:
                kind = "missing trap" if o.get("status") == "trap" else "unexpected trap"
                return Verdict("fail", kind, f"{detail} (also with 16x fuel and a big stack)")
            return Verdict("inconclusive", t, detail)
        if kind is not None:
            detail = f"{where}: wasmtime {format_outcome(o)}; wasmlite {format_outcome(c)}"
            if tainted:
                return Verdict("inconclusive", tainted, f"after it, {kind}: {detail}")
            if kind == "oracle error":
                return Verdict("inconclusive", kind, detail)
            return Verdict("fail", kind, detail)
        tainted = tainted or t
    diff = _state_diff(oracle.get("state", {}), cand.get("state", {}), nan_classes)
    if diff is not None:
        if tainted:
            return Verdict("inconclusive", tainted, f"after it, {diff[0]}: {diff[1]}")
        return Verdict("fail", *diff)
    return Verdict("pass")


def compare_validate(oracle: dict, cand: dict) -> Verdict:
    """Judge a mutate-mode case: the same valid/invalid verdict, and nothing raised
    by wasmlite but ``WasmtimeError``."""
    v = _process_verdict(oracle, cand)
    if v is not None:
        return v
    if cand["verdict"] == "exception":
        return Verdict("fail", "non-WasmtimeError exception",
                       f"{cand.get('type')}: {cand.get('message')}\n{cand.get('traceback', '')}")
    if oracle["verdict"] == "exception":
        return Verdict("inconclusive", "oracle exception", f"{oracle.get('type')}: {oracle.get('message')}")
    if oracle["verdict"] != cand["verdict"]:
        return Verdict("fail", "verdict mismatch",
                       f"wasmtime: {oracle['verdict']} {oracle.get('message', '')!r}; "
                       f"wasmlite: {cand['verdict']} {cand.get('message', '')!r}")
    return Verdict("pass")
