"""Link two modules with a Linker: one instance's exports become another's imports.

``counter`` owns a memory and a mutable global and exports functions using them; ``app``
imports them by name (through ``Linker.define_instance``) together with a host function
(``Linker.define_func``) and a global defined from Python (``Linker.define``).  Run:
``python examples/linking.py`` (``WASMLITE_EXAMPLES_RUNTIME=wasmtime`` for wasmtime-py).
"""

import os

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

COUNTER_WAT = """
(module
  (memory (export "memory") 1)
  (global $count (export "count") (mut i32) (i32.const 0))
  ;; add n to the counter and record the new value at address 4*count
  (func (export "bump") (param $n i32) (result i32)
    (global.set $count (i32.add (global.get $count) (local.get $n)))
    (i32.store (i32.mul (global.get $count) (i32.const 4)) (global.get $count))
    (global.get $count)))
"""

APP_WAT = """
(module
  (import "counter" "bump" (func $bump (param i32) (result i32)))
  (import "counter" "memory" (memory 1))
  (import "counter" "count" (global $count (mut i32)))
  (import "env" "report" (func $report (param i32 i32)))
  (import "env" "step" (global $step i32))
  (func (export "run") (param $times i32)
    (local $i i32)
    (loop $next
      (call $report (local.get $i) (call $bump (global.get $step)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $times)))))
  ;; read back what counter stored, through the shared memory
  (func (export "stored") (param $value i32) (result i32)
    (i32.load (i32.mul (local.get $value) (i32.const 4))))
  (func (export "total") (result i32) (global.get $count)))
"""

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
linker = wasmtime.Linker(engine)

i32 = wasmtime.ValType.i32()
linker.define_func("env", "report", wasmtime.FuncType([i32, i32], []),
                   lambda i, value: print(f"step {i}: counter = {value}"))
step = wasmtime.Global(store, wasmtime.GlobalType(i32, False), 5)
linker.define(store, "env", "step", step)

# instantiate counter, then make its exports available as module "counter"
counter = linker.instantiate(store, wasmtime.Module(engine, COUNTER_WAT))
linker.define_instance(store, "counter", counter)

app_module = wasmtime.Module(engine, APP_WAT)
print("app imports:", [f"{imp.module}::{imp.name}" for imp in app_module.imports])
app = linker.instantiate(store, app_module)
app_exports = app.exports(store)
app_exports["run"](store, 3)

# both instances see the same memory and global
print("total from app:", app_exports["total"](store))
print("count global from Python:", counter.exports(store)["count"].value(store))
print("stored at 4*10:", app_exports["stored"](store, 10))
memory = linker.get(store, "counter", "memory")
print("memory bytes 60..64:", list(memory.read(store, 60, 64)))

# a module whose imports the linker cannot satisfy
try:
    linker.instantiate(store, wasmtime.Module(engine, """
        (module (import "env" "missing" (func)))"""))
except wasmtime.WasmtimeError as e:
    print("error:", str(e).splitlines()[0])
