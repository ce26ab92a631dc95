"""Host functions: Python functions that WebAssembly imports and calls.

``hello`` takes no arguments; ``log_i32`` receives a number; ``print_str`` uses a
``Caller`` to read a string out of the calling instance's memory.  Run:
``python examples/hello.py`` (``WASMLITE_EXAMPLES_RUNTIME=wasmtime`` for wasmtime-py).
"""

import os

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

HELLO_WAT = """
(module
  (import "host" "hello" (func $hello))
  (import "host" "log_i32" (func $log_i32 (param i32)))
  (import "host" "print_str" (func $print_str (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Hello from WebAssembly memory!")
  (func (export "run")
    (call $hello)
    (call $log_i32 (i32.mul (i32.const 6) (i32.const 7)))
    (call $log_i32 (i32.const -1))
    (call $print_str (i32.const 64) (i32.const 30))))
"""

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
module = wasmtime.Module(engine, HELLO_WAT)


def hello() -> None:
    print("Hello, world! (called from wasm)")


def log_i32(value: int) -> None:
    # i32 arguments arrive as signed Python ints
    print("log_i32:", value)


def print_str(caller, ptr: int, length: int) -> None:
    # a Caller gives access to the exports of the instance that made the call
    memory = caller["memory"]
    text = memory.read(caller, ptr, ptr + length).decode("utf-8")
    print("print_str:", text)


i32 = wasmtime.ValType.i32()
# Host functions are Func objects of a store...
hello_func = wasmtime.Func(store, wasmtime.FuncType([], []), hello)
log_func = wasmtime.Func(store, wasmtime.FuncType([i32], []), log_i32)
print_func = wasmtime.Func(store, wasmtime.FuncType([i32, i32], []), print_str,
                           access_caller=True)
# ...given to Instance in the order of the module's imports
instance = wasmtime.Instance(store, module, [hello_func, log_func, print_func])
instance.exports(store)["run"](store)

# A host Func can also be called directly from Python
log_func(store, 123)

# An exception raised by a host function propagates through wasm to the caller
def failing() -> None:
    raise ValueError("raised in a host function")


bad = wasmtime.Func(store, wasmtime.FuncType([], []), failing)
instance2 = wasmtime.Instance(store, module, [bad, log_func, print_func])
try:
    instance2.exports(store)["run"](store)
except ValueError as e:
    print("caught:", e)
