"""Multi-value: wasm functions and host functions with several results.

A wasm function returning several values gives Python a list; a host function returns
a tuple (or list) with one value per result.  Run: ``python examples/multi_value.py``
(``WASMLITE_EXAMPLES_RUNTIME=wasmtime`` for wasmtime-py).
"""

import os

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

MULTI_WAT = """
(module
  (import "host" "divmod" (func $divmod (param i64 i64) (result i64 i64)))
  (import "host" "split" (func $split (param f64) (result i32 f64)))
  ;; swap two values of different types
  (func (export "swap") (param i32 i64) (result i64 i32)
    (local.get 1) (local.get 0))
  ;; a block with several results
  (func (export "minmax") (param $a i32) (param $b i32) (result i32 i32)
    (block (result i32 i32)
      (if (i32.lt_s (local.get $a) (local.get $b))
        (then (br 1 (local.get $a) (local.get $b))))
      (local.get $b) (local.get $a)))
  ;; call a host function with two results and combine them: q * 1000 + r
  (func (export "divmod_packed") (param i64 i64) (result i64)
    (local $r i64)
    (call $divmod (local.get 0) (local.get 1))
    (local.set $r)
    (i64.add (i64.mul (i64.const 1000)) (local.get $r)))
  ;; pass the host's two results straight through
  (func (export "split") (param f64) (result i32 f64)
    (call $split (local.get 0))))
"""

i32, i64, f64 = wasmtime.ValType.i32(), wasmtime.ValType.i64(), wasmtime.ValType.f64()
engine = wasmtime.Engine()
store = wasmtime.Store(engine)
module = wasmtime.Module(engine, MULTI_WAT)


def divmod_host(a: int, b: int) -> tuple[int, int]:
    return a // b, a % b


def split_host(x: float) -> tuple[int, float]:
    whole = int(x)
    return whole, x - whole


divmod_func = wasmtime.Func(store, wasmtime.FuncType([i64, i64], [i64, i64]), divmod_host)
split_func = wasmtime.Func(store, wasmtime.FuncType([f64], [i32, f64]), split_host)
instance = wasmtime.Instance(store, module, [divmod_func, split_func])
exports = instance.exports(store)

print("swap(1, 2**40) =", exports["swap"](store, 1, 2**40))
print("minmax(7, -3) =", exports["minmax"](store, 7, -3))
print("minmax(-3, 7) =", exports["minmax"](store, -3, 7))
print("divmod_packed(12345, 100) =", exports["divmod_packed"](store, 12345, 100))
print("split(3.25) =", exports["split"](store, 3.25))
# host functions with several results can be called from Python too
print("divmod(17, 5) from Python =", divmod_func(store, 17, 5))
print("result types of swap:", [str(t) for t in exports["swap"].type(store).results])

# a host function must return exactly as many values as its type says
bad = wasmtime.Func(store, wasmtime.FuncType([i64, i64], [i64, i64]), lambda a, b: (a,))
instance2 = wasmtime.Instance(store, module, [bad, split_func])
try:
    exports2 = instance2.exports(store)
    exports2["divmod_packed"](store, 1, 1)
except wasmtime.WasmtimeError as e:
    print("wrong number of results:", type(e).__name__)
