"""Run a WASI program (``examples/demo.wasm``, built from ``demo.c``) from Python.

The guest's stdout goes to a temporary file that is printed afterwards; the guest sees
``argv``, one environment variable and the ``examples`` directory preopened as ``/ex``.
Run: ``python examples/wasi.py [ARGS...]`` (``WASMLITE_EXAMPLES_RUNTIME=wasmtime`` for
wasmtime-py).  ``python examples/wasi.py /ex/demo.c`` makes the demo count that file.
"""

import os
import sys
import tempfile

if os.environ.get("WASMLITE_EXAMPLES_RUNTIME") == "wasmtime":
    import wasmtime
else:
    import wasmlite as wasmtime

HERE = os.path.dirname(os.path.abspath(__file__))

engine = wasmtime.Engine()
module = wasmtime.Module.from_file(engine, os.path.join(HERE, "demo.wasm"))

linker = wasmtime.Linker(engine)
linker.define_wasi()  # the wasi_snapshot_preview1 functions

with tempfile.TemporaryDirectory() as tmp:
    out_path = os.path.join(tmp, "stdout.txt")
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["demo.wasm", *sys.argv[1:]]
    if "NAME" in os.environ:
        wasi.env = [("NAME", os.environ["NAME"])]
    wasi.stdout_file = out_path
    wasi.inherit_stderr()
    wasi.preopen_dir(HERE, "/ex")

    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    try:
        start(store)
        status = 0
    except wasmtime.ExitTrap as e:  # the program called proc_exit
        status = e.code
    del store  # closes the guest's files
    with open(out_path, encoding="utf-8") as f:
        sys.stdout.write(f.read())
print(f"[exit status {status}]")
