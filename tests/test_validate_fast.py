"""The fast validation path (``wasmlite.validate.fast``) against the reference path.

The fast path decides alone that a body is valid, so it must never accept a body that
the reference path (``read_instructions`` + ``_BodyValidator``) rejects; it should
also reject nothing the reference path accepts (that would only cost time, but shows
a bug).  Verdicts are compared body by body on the spec testsuite's modules (valid and
``assert_invalid``), the hand-made invalid bodies of ``test_validator.py``, the real
programs, and bodies of real programs with bytes changed at random.  The errors that
``validate_module`` raises are compared between ``keep_bodies=True``,
``keep_bodies=False`` and worker processes.
"""

from __future__ import annotations

import random

import pytest
from conftest import shared_dir
from test_validator import (
    _SPEC_INVALID,
    INVALID_BODIES,
    _module_bytes,
    _toplevel_sexprs,
    func_module,
    i32c,
    make_module,
)

from wasmlite.binary import opcodes as op
from wasmlite.binary.decoder import decode_module
from wasmlite.errors import DecodeError, ValidationError
from wasmlite.validate import Features, fast, parallel, validate_module
from wasmlite.validate.validator import (
    _body_locals,
    _Context,
    _fast_env,
    _reference_body,
    _validate_module_fields,
)

#: the WebAssembly 2.0 rules of the spec scripts compared here (multi-memory, memory64
#: and 3.0's constant expressions off)
_V2 = Features(multi_memory=False, memory64=False, extended_const=False, gc=False)


def _verdicts(data: bytes, only: int | None = None) -> tuple[list[bool], list[bool]] | None:
    """Per defined function (or just function ``only``): (fast path accepts, reference
    path accepts); ``None`` when the module is malformed or fails a module-level
    check."""
    try:
        info = decode_module(data)
        ctx = _Context(info)
        _validate_module_fields(ctx)
    except (DecodeError, ValidationError):
        return None
    if len(info.codes) != len(info.funcs):
        return None
    env = _fast_env(ctx)
    nimp = info.num_imported_funcs
    fast_ok, ref_ok = [], []
    for i, c in enumerate(info.codes):
        if only is not None and i != only:
            continue
        ft = ctx.func_types[nimp + i]
        fast_ok.append(fast.body_ok(info.bytes, _body_locals(ft, c.locals),
                                    list(ft.results), c.body_start, c.body_end, env))
        try:
            _reference_body(ctx, i)
            ref_ok.append(True)
        except (DecodeError, ValidationError):
            ref_ok.append(False)
    return fast_ok, ref_ok


def _spec_modules() -> list[bytes]:
    out = []
    for path in sorted((shared_dir() / "wasm-spec" / "2.0").glob("*.wast")):
        for sexpr in _toplevel_sexprs(path.read_text()):
            if sexpr.startswith("(module") and " quote" not in sexpr[:30]:
                data = _module_bytes(sexpr)
                if data is not None:
                    out.append(data)
    return out


def _program_paths():
    return sorted((shared_dir() / "benchmarks" / "sightglass").glob("*/*.wasm"))


def test_every_one_byte_opcode_has_a_kind():
    """Every one-byte opcode the decoder knows is dispatched by the fast path."""
    one_byte = [o for o in op.IMMEDIATE_KINDS if o < 0x100] + [0xFC, 0xFD]
    assert len(one_byte) > 150
    assert not [hex(o) for o in one_byte if fast._KIND[o] == fast.F_ILLEGAL]


def test_spec_modules_same_verdicts():
    """Valid modules of the 2.0 testsuite: every body accepted by both paths."""
    checked = 0
    for data in _spec_modules():
        v = _verdicts(data)
        if v is None:
            continue
        assert v[0] == v[1], data
        checked += sum(v[1])
    assert checked > 5000


def test_spec_invalid_same_verdicts():
    """``assert_invalid`` modules: the body the reference path rejects is rejected by
    the fast path too, and no other."""
    rejected = 0
    for _case, module, _message in _SPEC_INVALID:
        data = _module_bytes(module)
        if data is None:
            continue
        v = _verdicts(data)
        if v is None:
            continue
        assert v[0] == v[1], module
        rejected += v[1].count(False)
    assert rejected > 700


@pytest.mark.parametrize("kw", [c[1] for c in INVALID_BODIES],
                         ids=[c[0] for c in INVALID_BODIES])
def test_hand_made_invalid_bodies_rejected(kw):
    v = _verdicts(func_module(**kw))
    if v is not None:  # a module-level error otherwise
        assert v == ([False], [False])


@pytest.mark.parametrize("path", _program_paths(), ids=lambda p: p.parent.name + "/" + p.name)
def test_real_programs_accepted(path):
    """Real programs: the fast path accepts every body (nothing falls back)."""
    v = _verdicts(path.read_bytes())
    assert v is not None and all(v[0]) and all(v[1])


def _mutants(data: bytes, count: int, seed: int):
    """``count`` copies of ``data`` with 1-3 bytes inside one function body replaced,
    with that body's defined-function index."""
    info = decode_module(data)
    rng = random.Random(seed)
    codes = [(i, c) for i, c in enumerate(info.codes) if c.body_end - c.body_start > 2]
    for _ in range(count):
        index, c = rng.choice(codes)
        buf = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(c.body_start, c.body_end)
            buf[at] = rng.choice((rng.randrange(256), rng.randrange(0x45),
                                  op.END, op.ELSE, 0x40, 0x7F, 0x80, 0x00))
        yield bytes(buf), index


@pytest.mark.parametrize("program, seed", [("shootout/shootout-gimli.wasm", 1),
                                           ("shootout/shootout-minicsv.wasm", 2),
                                           ("shootout/shootout-heapsort.wasm", 3),
                                           ("blake3-simd/benchmark.wasm", 4)])
def test_mutated_bodies_same_verdicts(program, seed):
    """Bodies of real programs with random bytes changed: same verdict on both paths,
    and a good share of them invalid (the mutations do reach the checks)."""
    data = (shared_dir() / "benchmarks" / "sightglass" / program).read_bytes()
    invalid = total = 0
    for mutant, index in _mutants(data, 400, seed):
        v = _verdicts(mutant, index)
        if v is None:
            continue
        assert v[0] == v[1], (program, seed, index)
        total += 1
        invalid += v[1].count(False)
    assert total > 300 and invalid > 100


def _error(data: bytes, **kw):
    kw.setdefault("features", _V2)
    try:
        validate_module(decode_module(data, memory64=kw["features"].memory64), **kw)
    except (DecodeError, ValidationError) as e:
        return type(e), e.message, e.offset
    return None


def test_keep_bodies_false_same_errors():
    """``keep_bodies=False`` raises the same errors (type, message, offset) as the
    default, on the spec's ``assert_invalid`` modules."""
    compared = 0
    for _case, module, _message in _SPEC_INVALID:
        data = _module_bytes(module)
        if data is None:
            continue
        expected = _error(data)
        assert expected is not None
        assert _error(data, keep_bodies=False, workers=1) == expected, module
        compared += 1
    assert compared > 2000


def test_keep_bodies_false_returns_none():
    data = func_module(i32c(1) + b"\x1a")
    assert validate_module(decode_module(data), keep_bodies=False) is None
    assert len(validate_module(decode_module(data))) == 1


def _many_funcs(bad: dict[int, bytes], n: int = 40) -> bytes:
    funcs = [(0, [], bad.get(i, i32c(i) + b"\x1a")) for i in range(n)]
    return make_module(types=[((), ())], funcs=funcs)


@pytest.mark.parametrize("bad", [
    {},
    {37: b"\x6a"},  # type mismatch near the end
    {3: b"\x6a", 30: b"\x20\x05"},  # two errors: the first one in module order wins
    {25: b"\xff", 5: i32c(0)},  # one malformed body (illegal opcode), one invalid
    {6: b"\x0c\x09", 33: b"\x05"},  # unknown label, then else outside if (malformed)
])
def test_worker_processes_same_error(bad):
    """Checking the bodies in 2 worker processes reports the same (first) error as one
    process."""
    data = _many_funcs(bad)
    expected = _error(data)
    assert (expected is None) == (not bad)
    assert _error(data, keep_bodies=False, workers=2) == expected
    assert _error(data, keep_bodies=False, workers=3) == expected


def test_runs_split_bodies_evenly():
    info = decode_module(_many_funcs({}, 41))
    runs = parallel._runs(info, 3)
    assert runs[0][0] == 0 and runs[-1][1] == 41
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:], strict=False))
    assert all(10 <= hi - lo <= 17 for lo, hi in runs)


def test_worker_processes_with_other_threads_running():
    """With another thread alive the workers come from a forkserver (not os.fork):
    same error, and a valid module passes."""
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert threading.active_count() > 1
        data = _many_funcs({11: b"\x6a", 29: b"\x20\x05"})
        assert _error(data, keep_bodies=False, workers=2) == _error(data)
        assert _error(_many_funcs({}), keep_bodies=False, workers=2) is None
    finally:
        release.set()
        other.join()


def test_default_workers_thresholds():
    """One process below the size thresholds, one per usable CPU (at most 8) above;
    a forkserver needs a bigger module than os.fork."""
    import os

    cpus = min(len(os.sched_getaffinity(0)), 8)
    small = parallel.MIN_PARALLEL_CODE_BYTES - 1
    assert parallel.default_workers(small) == 1
    assert parallel.default_workers(parallel.MIN_PARALLEL_CODE_BYTES) == cpus
    assert parallel.default_workers(parallel.MIN_PARALLEL_CODE_BYTES, forked=False) == 1
    assert parallel.default_workers(parallel.MIN_FORKSERVER_CODE_BYTES, forked=False) == cpus
    assert parallel.MIN_PARALLEL_CODE_BYTES < parallel.MIN_FORKSERVER_CODE_BYTES
