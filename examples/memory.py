"""Linear memory from the host side: size, grow, read and write, bounds errors, and
direct access to the bytes.

The module exports a memory of 2 pages (maximum 3) and functions that load, store and
grow it.  Run: ``python examples/memory.py`` (``WASMLITE_EXAMPLES_RUNTIME=wasmtime``
for wasmtime-py; wasmlite's ``Memory.buffer`` is replaced by ``get_buffer_ptr`` there).
"""

import os

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

MEMORY_WAT = """
(module
  (memory (export "memory") 2 3)
  (data (i32.const 0x1000) "\\01\\02\\03\\04")
  (func (export "size") (result i32) (memory.size))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"""

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
instance = wasmtime.Instance(store, wasmtime.Module(engine, MEMORY_WAT), [])
exports = instance.exports(store)
memory = exports["memory"]
size, load, store_byte, grow = (exports[n] for n in ("size", "load", "store", "grow"))

limits = memory.type(store).limits
print(f"limits: min {limits.min}, max {limits.max}")
print(f"size: {memory.size(store)} pages = {memory.data_len(store)} bytes")
print("wasm sees size:", size(store))

# the data segment, read from Python (slice semantics: start, stop)
print("bytes at 0x1000:", list(memory.read(store, 0x1000, 0x1004)))
print("load(0x1002):", load(store, 0x1002))

# Python writes, wasm reads; wasm writes, Python reads
memory.write(store, b"\xff\x10", 0x2000)
print("load(0x2000), load(0x2001):", load(store, 0x2000), load(store, 0x2001))
store_byte(store, 0x3000, 200)
print("read(0x3000):", memory.read(store, 0x3000, 0x3001)[0])

# out-of-bounds accesses from wasm trap
try:
    load(store, 0x20000)
except wasmtime.Trap as trap:
    cause = str(trap).strip().splitlines()[-1]  # the message ends with the cause
    print("trap:", trap.trap_code.name, "-", cause[cause.index("wasm trap:"):])

# from Python, writing past the end raises IndexError, reads are clipped like slices
try:
    memory.write(store, b"abc", memory.data_len(store) - 1)
except IndexError:
    print("write past the end: IndexError")
print("read past the end:", len(memory.read(store, memory.data_len(store) - 2, 10**9)), "bytes")

# growing: from Python (returns the old size in pages) and from wasm
print("grow from Python by 1, old size:", memory.grow(store, 1))
print("size now:", memory.size(store))
print("grow from wasm beyond the maximum:", grow(store, 1))
try:
    memory.grow(store, 1)
except wasmtime.WasmtimeError:
    print("grow from Python beyond the maximum: WasmtimeError")
print("the new page is zeroed and usable:", load(store, 0x20000))

# direct access to the bytes without copying
if hasattr(memory, "buffer"):
    buf = memory.buffer(store)  # wasmlite: a writable memoryview of the whole memory
else:
    buf = memory.get_buffer_ptr(store)  # wasmtime-py: a ctypes array
buf[0x4000] = 99
print("load(0x4000) after a buffer write:", load(store, 0x4000))
print("buffer length:", len(buf))
