"""``Config.cache`` with the lazy, tiered strategy: the optimizing tier's batches are
stored in the compile cache (``cache.TierCache``) and loaded on first calls in later
engines and processes, instead of compiling the first tier.

Behaviour must not change: results, traps and backtraces are those of a run without the
cache; a changed setting or function body misses; a damaged entry is recompiled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasmlite
from wasmlite import cache as ca
from wasmlite.compiler import lazy

#: ``warm(n)`` calls ``outer`` n times (``outer`` → ``middle`` → ``inner``), enough to
#: send them all — and ``warm``, through its loop — to the optimizing tier; ``outer(0)``
#: traps in ``inner`` (division by zero) under two wasm frames.
WAT = """(module
  (func $inner (param i32) (result i32) i32.const {k} local.get 0 i32.div_u)
  (func $middle (param i32) (result i32) local.get 0 call $inner i32.const 1 i32.add)
  (func $outer (export "outer") (param i32) (result i32) local.get 0 call $middle)
  (func (export "warm") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $outer (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    local.get $acc)
  (func $cold (export "cold") (param i32) (result i32) local.get 0 i32.const 3 i32.mul))
"""
WARM = 3 * lazy.HOT_THRESHOLD


def _engine(directory: Path | None, **settings: object) -> wasmlite.Engine:
    config = wasmlite.Config()
    for name, value in settings.items():
        setattr(config, name, value)
    if directory is not None:
        config.cache = _cache_config(directory)
    return wasmlite.Engine(config)


def _cache_config(directory: Path) -> str:
    """A Wasmtime cache configuration file naming ``directory`` (what Config.cache takes)."""
    conf = directory.parent / f"{directory.name}.toml"
    conf.write_text(f'[cache]\ndirectory = "{directory}"\n')
    return str(conf)


def _exercise(engine: wasmlite.Engine, k: int = 100) -> tuple[list, object]:
    """Results of the module's exports (a trap by its code and frames) and its
    ``LazyCode``, after ``warm`` made it hot and the tier-up thread settled."""
    module = wasmlite.Module(engine, WAT.format(k=k))
    store = wasmlite.Store(engine)
    if engine._consume_fuel:
        store.set_fuel(10**9)
    if engine._epoch_interruption:
        store.set_epoch_deadline(10**6)
    ex = wasmlite.Instance(store, module, []).exports(store)
    out: list = [ex["outer"](store, 7)]
    with pytest.raises(wasmlite.Trap) as info:
        ex["outer"](store, 0)
    out.append((str(info.value.trap_code),
                [(f.func_index, f.module_offset) for f in info.value.frames]))
    out.append(ex["warm"](store, WARM))
    assert lazy.TIERUP.wait_idle(120)
    out.append(ex["warm"](store, 10))
    with pytest.raises(wasmlite.Trap) as info:
        ex["outer"](store, 0)
    out.append((str(info.value.trap_code),
                [(f.func_index, f.module_offset) for f in info.value.frames]))
    return out, module._compiled


def _first_tier(code: object) -> int:
    return code.batches  # type: ignore[attr-defined]


def test_second_engine_starts_hot(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    first, code1 = _exercise(_engine(directory))
    assert code1.tier2_batches >= 1 and code1.cache_loads == 0
    assert list(directory.glob("tier2/*/*.obj")) and list(directory.glob("tier2/*/*.json"))

    second, code2 = _exercise(_engine(directory))
    assert second == first
    # every function that ran was in a cached optimized batch: no first-tier compilation
    assert _first_tier(code2) == 0, (code2.batches, code2.compiled)
    assert code2.cache_loads >= 1 and code2.tier2_batches == 0
    # functions that never got hot were optimized for the cache too (in the background,
    # after the hot ones): `cold`, compiled in the first tier's batch but never called
    engine = _engine(directory)
    module = wasmlite.Module(engine, WAT.format(k=100))
    store = wasmlite.Store(engine)
    assert wasmlite.Instance(store, module, []).exports(store)["cold"](store, 5) == 15
    assert _first_tier(module._compiled) == 0 and module._compiled.cache_loads == 1
    # and the same as without any cache, eager compilation included
    assert _exercise(_engine(None))[0] == first
    assert _exercise(_engine(None, strategy="cranelift"))[0][:2] == first[:2]


@pytest.mark.parametrize("change", [
    {"consume_fuel": True},
    {"epoch_interruption": True},
    {"signals_based_traps": False},
    {"opt_level": "1"},
])
def test_a_changed_setting_misses(tmp_path: Path, change: dict) -> None:
    directory = tmp_path / "cache"
    base, _ = _exercise(_engine(directory))
    other, code = _exercise(_engine(directory, **change))
    assert code.cache_loads == 0 and _first_tier(code) >= 1
    assert [r for r in other if not isinstance(r, tuple)] == \
        [r for r in base if not isinstance(r, tuple)]


def test_a_changed_function_body_never_loads_stale_code(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    _exercise(_engine(directory), k=100)
    changed, code = _exercise(_engine(directory), k=1000)
    assert changed[0] == 1000 // 7 + 1
    assert changed == _exercise(_engine(None), k=1000)[0]
    # the batches holding `inner` (changed) missed and were compiled again
    assert _first_tier(code) >= 1


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "manifest"])
def test_a_damaged_entry_is_recompiled(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "cache"
    first, _ = _exercise(_engine(directory))
    if damage == "manifest":
        for m in directory.glob("tier2/*/*.json"):
            m.write_text("[[0, 1], {not json")
    for entry in directory.glob("tier2/*/*.obj"):
        data = entry.read_bytes()
        if damage == "truncated":
            entry.write_bytes(data[:len(data) // 2])
        elif damage == "flipped":
            b = bytearray(data)
            b[len(b) // 2] ^= 0xFF
            entry.write_bytes(bytes(b))
        elif damage == "garbage":
            entry.write_bytes(b"\x7fELF" + os.urandom(200))
    second, code = _exercise(_engine(directory))
    assert second == first
    assert code.cache_loads == 0 and _first_tier(code) >= 1


def test_batch_keys_cover_bodies_offsets_and_layout() -> None:
    engine = _engine(None)
    m1 = wasmlite.Module(engine, WAT.format(k=100))
    m2 = wasmlite.Module(engine, WAT.format(k=101))
    host = ca.host_header(ca.compile_settings(engine))
    l1, l2 = ca.layout_key(m1._info, host), ca.layout_key(m2._info, host)
    assert l1 == l2   # only a body changed: the layout is the same
    # inner's body differs; middle (1) and cold (4) are the same bytes but cold sits
    # after inner in the module: a changed offset, another key (backtraces use offsets)
    assert ca.batch_key(l1, m1._info, [0]) != ca.batch_key(l1, m2._info, [0])
    same_len = WAT.format(k=101)  # i32.const 100 and 101 encode in as many bytes
    m3 = wasmlite.Module(engine, same_len)
    assert ca.batch_key(l1, m1._info, [1]) == ca.batch_key(l1, m3._info, [1])
    other_host = dict(host, settings=dict(host["settings"], consume_fuel=True))
    assert ca.layout_key(m1._info, other_host) != l1
    bigger = WAT.format(k=100).replace("(func $cold", "(memory 1) (func $cold")
    assert ca.layout_key(wasmlite.Module(engine, bigger)._info, host) != l1


SCRIPT = r"""
import json, sys
import wasmlite
from wasmlite.compiler import lazy
config = wasmlite.Config()
config.cache = sys.argv[1]
engine = wasmlite.Engine(config)
module = wasmlite.Module(engine, sys.argv[2])
store = wasmlite.Store(engine)
ex = wasmlite.Instance(store, module, []).exports(store)
out = [ex["outer"](store, 7)]
try:
    ex["outer"](store, 0)
except wasmlite.Trap as t:
    out.append([str(t.trap_code), [[f.func_index, f.module_offset] for f in t.frames]])
out.append(ex["warm"](store, int(sys.argv[3])))
lazy.TIERUP.wait_idle(120)
code = module._compiled
print(json.dumps({"out": out, "first_tier": code.batches, "loads": code.cache_loads,
                  "tier2": code.tier2_batches}))
"""


def test_a_second_process_starts_hot(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(Path(wasmlite.__file__).parent.parent)}

    def run() -> dict:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, _cache_config(directory),
                               WAT.format(k=100), str(WARM)], capture_output=True,
                              env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()
        return json.loads(proc.stdout)

    first = run()
    assert first["first_tier"] >= 1 and first["tier2"] >= 1 and first["loads"] == 0
    second = run()
    assert second["out"] == first["out"]
    assert second["first_tier"] == 0 and second["loads"] >= 1 and second["tier2"] == 0


def test_background_batches_are_merged(tmp_path: Path) -> None:
    # forty functions of 200 instructions, each called once: the baseline first tier
    # compiles them one by one (until what is left fits in lazy.BATCH_INSTRS) and queues
    # one cache-filling job each; the tier-up thread merges them into few optimized
    # batches (lazy.FILL_INSTRS), so a later run loads few JIT engines
    n = 40
    pad = " i32.const 1 i32.add" * 100
    funcs = "\n".join(f"(func $f{i} (result i32) i32.const {i} i32.const 3 i32.mul{pad})"
                      for i in range(n))
    calls = " ".join(f"call $f{i} i32.add" for i in range(n))
    wat = f'(module {funcs} (func (export "run") (result i32) i32.const 0 {calls}))'
    directory = tmp_path / "cache"
    results = []
    codes = []
    for _ in range(2):
        engine = _engine(directory)
        module = wasmlite.Module(engine, wat)
        store = wasmlite.Store(engine)
        results.append(wasmlite.Instance(store, module, []).exports(store)["run"](store))
        assert lazy.TIERUP.wait_idle(120)
        codes.append(module._compiled)
    assert results == [3 * n * (n - 1) // 2 + 100 * n] * 2
    manifest = [json.loads(m.read_text()) for m in directory.glob("tier2/*/*.json")]
    batches = [b for m in manifest for b in m]
    assert sorted(j for b in batches for j in b) == list(range(n + 1))
    assert len(batches) <= 4, batches
    assert codes[1].cache_loads == len(batches) and codes[1].batches == 0


def test_a_module_is_validated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the first lazy Module() with a cache validates and leaves a marker under the
    # module's key; later ones only decode (the validator is not called), unless a
    # setting in the key changed; a module that failed validation is never marked
    import wasmlite.validate as va

    directory = tmp_path / "cache"
    calls: list[int] = []
    real = va.validate_module

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(va, "validate_module", counting)
    wat = WAT.format(k=100)
    for expected_calls in (1, 1):
        engine = _engine(directory)
        module = wasmlite.Module(engine, wat)
        store = wasmlite.Store(engine)
        assert wasmlite.Instance(store, module, []).exports(store)["outer"](store, 7) == 15
        assert len(calls) == expected_calls
    assert list(directory.glob("*/*.valid"))
    wasmlite.Module(_engine(directory, consume_fuel=True), wat)
    assert len(calls) == 2
    bad = "(module (func (result i32) i64.const 1))"
    for _ in range(2):
        with pytest.raises(wasmlite.WasmtimeError, match="type mismatch"):
            wasmlite.Module(_engine(directory), bad)
    assert len(calls) == 4
