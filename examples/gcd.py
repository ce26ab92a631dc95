"""Call a WebAssembly function from Python: Euclid's algorithm written in WAT.

Run: ``python examples/gcd.py``.  Set ``WASMLITE_EXAMPLES_RUNTIME=wasmtime`` to run the
same script under wasmtime-py instead.
"""

import os

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

GCD_WAT = """
(module
  ;; gcd(a, b) for unsigned 32-bit a and b, by repeated remainders
  (func $gcd (export "gcd") (param $a i32) (param $b i32) (result i32)
    (local $t i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $b)))
        (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (br $next)))
    (local.get $a))
  ;; lcm through gcd: a call between two wasm functions
  (func (export "lcm") (param $a i32) (param $b i32) (result i32)
    (i32.mul (i32.div_u (local.get $a) (call $gcd (local.get $a) (local.get $b)))
             (local.get $b))))
"""

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
# Module accepts the text format as well as binary bytes
module = wasmtime.Module(engine, GCD_WAT)
instance = wasmtime.Instance(store, module, [])
exports = instance.exports(store)
gcd = exports["gcd"]
lcm = exports["lcm"]

ty = gcd.type(store)
print("gcd params:", [str(t) for t in ty.params], "results:", [str(t) for t in ty.results])
for a, b in [(6, 27), (1071, 462), (17, 5), (0, 9), (2**31 - 1, 2**16)]:
    print(f"gcd({a}, {b}) = {gcd(store, a, b)}")
print(f"lcm(4, 6) = {lcm(store, 4, 6)}")
print(f"lcm(21, 6) = {lcm(store, 21, 6)}")

# A wrong number of arguments is an error, not a crash
try:
    gcd(store, 1)
except wasmtime.WasmtimeError as e:
    print("error:", e)
