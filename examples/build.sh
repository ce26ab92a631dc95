#!/usr/bin/env bash
# Rebuild examples/demo.wasm from examples/demo.c with zig's clang (wasi-libc included).
# Needs the `ziglang` PyPI package: `pip install ziglang` (it is in the `dev` extra).
# Usage: bash examples/build.sh            (PYTHON=... to pick the interpreter)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if ! "$python" -c 'import ziglang' 2>/dev/null; then
    echo "build.sh: the ziglang package is missing: $python -m pip install ziglang" >&2
    exit 1
fi
# -O2: optimised; --strip-debug drops DWARF but keeps the `name` section, so traps in a
# backtrace show C function names.
"$python" -m ziglang cc --target=wasm32-wasi -O2 -Wl,--strip-debug \
    -o "$here/demo.wasm" "$here/demo.c"
echo "built $here/demo.wasm ($(wc -c < "$here/demo.wasm") bytes)"
