"""The ``wasmlite`` command line (``wasmlite.cli.main``), run as a subprocess.

Modules are built from WAT with ``wasmtime.wat2wasm`` (wasmtime-py, a test-only
dependency); the demo is ``examples/demo.wasm`` with its expected output in
``examples/demo.expected``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import sys
from pathlib import Path

import pytest
import wasmtime
from conftest import REPO_ROOT, run_wasmlite

from wasmlite.cli.main import _f32_str, _f64_str, parse_run_args

DEMO = REPO_ROOT / "examples" / "demo.wasm"
DEMO_EXPECTED = REPO_ROOT / "examples" / "demo.expected"

EXIT_WAT = """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const {code}))))
"""

RETURN_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "_start")))
"""

TRAP_WAT = """
(module $traps
  (memory (export "memory") 1)
  (func $divide (param i32) (result i32)
    (i32.div_u (i32.const 100) (local.get 0)))
  (func $middle (result i32)
    (call $divide (i32.const 0)))
  (func $_start (export "_start")
    (drop (call $middle))))
"""

UNREACHABLE_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
"""

INVOKE_WAT = """
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "mix") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (i32.mul (local.get 0) (i32.const 2))
    (i64.sub (local.get 1) (i64.const 1))
    (f32.div (local.get 2) (f32.const 4))
    (f64.mul (local.get 3) (f64.const 0.5)))
  (func (export "nothing"))
  (global (export "g") i32 (i32.const 1)))
"""

IMPORT_WAT = """
(module
  (import "foo" "bar" (func))
  (func (export "_start")))
"""


def _wasm(tmp_path: Path, name: str, wat: str) -> Path:
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _assert_one_line_error(proc, *needles: str) -> str:
    """Exit status 1, nothing on stdout, exactly one ``Error: ...`` line on stderr."""
    err = _text(proc.stderr)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: "), err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


# ----------------------------------------------------------------------------- demo


def test_demo_output_matches_expected() -> None:
    proc = run_wasmlite(["run", "examples/demo.wasm"], cwd=REPO_ROOT)
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    assert proc.stderr == b""


def test_demo_expected_is_checkable() -> None:
    """demo.expected says what the demo claims (the numbers a reader can check)."""
    text = DEMO_EXPECTED.read_text()
    primes = [n for n in range(2, 100) if all(n % d for d in range(2, n))][:20]
    assert " ".join(map(str, primes)) in text
    assert f"= {sum(i * i for i in range(1, 101))}" in text
    assert f"10! = {3628800}" in text
    assert f"sqrt(2) = {2 ** 0.5:.9f}" in text


def test_shorthand_form_runs_the_demo() -> None:
    proc = run_wasmlite(["examples/demo.wasm"], cwd=REPO_ROOT)
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("wasmlite")
    if not script.exists():
        pytest.skip(f"no `wasmlite` console script beside {sys.executable} (not pip-installed)")
    import subprocess

    proc = subprocess.run([str(script), "run", str(DEMO)], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()


def test_args_env_and_dir(tmp_path: Path) -> None:
    data = tmp_path / "host-data"
    data.mkdir()
    content = "one two\nthree\n  four five six\n"
    (data / "words.txt").write_text(content)
    proc = run_wasmlite(
        ["run", "--env", "NAME=wasm world", "--dir", f"{data}::data", str(DEMO),
         "an argument", "-x", "data/words.txt"], cwd=tmp_path)
    out = _text(proc.stdout)
    assert proc.returncode == 0, _text(proc.stderr)
    assert "Hello, wasm world!\n" in out
    assert '3 argument(s):\n  argv[1] = "an argument"\n  argv[2] = "-x"\n' in out
    lines, words, size = content.count("\n"), len(content.split()), len(content.encode())
    assert f"data/words.txt: {lines} lines, {words} words, {size} bytes\n" in out


def test_dir_without_guest_path_uses_host_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.txt").write_text("a b c\n")
    proc = run_wasmlite(["run", "--dir", "sub", str(DEMO), "sub/f.txt"], cwd=tmp_path)
    assert proc.returncode == 0, _text(proc.stderr)
    assert "sub/f.txt: 1 lines, 3 words, 6 bytes\n" in _text(proc.stdout)


def test_file_outside_preopens_is_not_reachable(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("secret\n")
    proc = run_wasmlite(["run", str(DEMO), "./f.txt"], cwd=tmp_path)
    assert proc.returncode == 1  # the demo returns 1 when it cannot open a file
    assert "f.txt" in _text(proc.stderr)
    assert "secret" not in _text(proc.stdout)


def test_env_without_value_inherits_from_host(tmp_path: Path) -> None:
    env = {**os.environ, "NAME": "from the host"}
    proc = run_wasmlite(["run", "--env", "NAME", str(DEMO)], cwd=tmp_path, env=env)
    assert proc.returncode == 0, _text(proc.stderr)
    assert "Hello, from the host!\n" in _text(proc.stdout)
    # Without --env the guest's environment is empty, as in Wasmtime.
    proc = run_wasmlite(["run", str(DEMO)], cwd=tmp_path, env=env)
    assert "Hello," not in _text(proc.stdout)


def test_opt_level_option(tmp_path: Path) -> None:
    for flags in (["-O", "0"], ["--opt-level", "s"], ["-O", "opt-level=1"]):
        proc = run_wasmlite(["run", *flags, "examples/demo.wasm"], cwd=REPO_ROOT)
        assert proc.returncode == 0, (flags, _text(proc.stderr))
        assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    _assert_one_line_error(run_wasmlite(["run", "-O", "7", str(DEMO)]), "optimisation level")


LOOP_WAT = '(module (func (export "_start") (loop $l (br $l))))'


@pytest.mark.parametrize("flags, cause", [
    (["-W", "fuel=5000"], "wasm trap: all fuel consumed by WebAssembly"),
    (["-W", "timeout=200ms"], "wasm trap: interrupt"),
    (["--wasm", "fuel=100000,timeout=5s"], "wasm trap: all fuel consumed by WebAssembly"),
])
def test_fuel_and_timeout_stop_an_infinite_loop(tmp_path: Path, flags, cause) -> None:
    proc = run_wasmlite(["run", *flags, str(_wasm(tmp_path, "loop.wasm", LOOP_WAT))])
    err = _text(proc.stderr)
    assert proc.returncode == 134, err
    assert err.rstrip().endswith(cause), err


def test_fuel_is_enough_for_the_demo() -> None:
    proc = run_wasmlite(["run", "-W", "fuel=100000000", "-O", "0", str(DEMO)])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()


def test_compile_cache_option(tmp_path: Path) -> None:
    env = {**os.environ, "WASMLITE_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    for _ in range(2):  # a miss that fills the cache, then a hit
        # lazy (the default): the batches compiled at -O 0 (one tier) are cached
        proc = run_wasmlite(["run", "-C", "cache", "-O", "0", str(DEMO)], env=env)
        assert proc.returncode == 0, _text(proc.stderr)
        assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    assert list((tmp_path / "cache").glob("tier2/**/*.obj")), "no batch in the cache"
    for _ in range(2):
        # eager: the whole module is cached
        proc = run_wasmlite(["run", "-C", "cache,strategy=cranelift", "-O", "0", str(DEMO)],
                            env=env)
        assert proc.returncode == 0, _text(proc.stderr)
        assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    assert list((tmp_path / "cache").glob("**/*.cwasm")), "nothing in $WASMLITE_CACHE_DIR"
    assert not (tmp_path / "xdg").exists()  # WASMLITE_CACHE_DIR comes first


@pytest.mark.parametrize("flags, needle", [
    (["-W", "fuel=-3"], "invalid fuel"),
    (["-W", "timeout=soon"], "invalid timeout"),
    (["-W", "bogus=1"], "unknown -W option `bogus`"),
    (["-C", "cache=maybe"], "invalid value `maybe`"),
])
def test_bad_settings_are_one_line_errors(flags, needle) -> None:
    _assert_one_line_error(run_wasmlite(["run", *flags, str(DEMO)]), needle)


# ----------------------------------------------------------------------------- exit status


@pytest.mark.parametrize("code", [0, 7, 125])
def test_exit_status_is_the_guests(tmp_path: Path, code: int) -> None:
    wasm = _wasm(tmp_path, "exit.wasm", EXIT_WAT.format(code=code))
    proc = run_wasmlite(["run", str(wasm)])
    assert proc.returncode == code, _text(proc.stderr)
    assert proc.stderr == b""


def test_start_returning_exits_zero(tmp_path: Path) -> None:
    proc = run_wasmlite(["run", str(_wasm(tmp_path, "ret.wasm", RETURN_WAT))])
    assert proc.returncode == 0, _text(proc.stderr)
    assert proc.stdout == b"" and proc.stderr == b""


# ----------------------------------------------------------------------------- traps


def _check_trap_report(wasm: Path, opt_flags: list[str]) -> None:
    proc = run_wasmlite(["run", *opt_flags, str(wasm)])
    err = _text(proc.stderr)
    assert proc.returncode == 134, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[:4] == [f"Error: failed to run main module `{wasm}`", "", "Caused by:",
                         "    0: error while executing at wasm backtrace:"], err
    frame_re = re.compile(r"^ {7} +(\d+): +0x[0-9a-f]+ - (\S+)!(\S+)$")
    frames = [frame_re.match(line) for line in lines[4:-1]]
    assert all(frames), err
    assert [int(m.group(1)) for m in frames] == list(range(len(frames)))
    # innermost first, names from the name section, as wasmtime reports them
    assert [m.group(3) for m in frames] == ["divide", "middle", "_start"], err
    assert lines[-1] == "    1: wasm trap: integer divide by zero", err


def test_trap_prints_backtrace_and_exits_134_at_o0(tmp_path: Path) -> None:
    _check_trap_report(_wasm(tmp_path, "trap.wasm", TRAP_WAT), ["-O", "0"])


def test_trap_prints_backtrace_and_exits_134(tmp_path: Path) -> None:
    _check_trap_report(_wasm(tmp_path, "trap.wasm", TRAP_WAT), [])


def test_trap_frames_match_wasmtime(tmp_path: Path) -> None:
    """The same frames (funcidx, name, module offset) as wasmtime-py reports."""
    wasm = _wasm(tmp_path, "trap.wasm", TRAP_WAT)
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wasm.read_bytes()), [])
    with pytest.raises(wasmtime.Trap) as info:
        instance.exports(store)["_start"](store)
    expected = [f"{f.module_offset:#x} - {f.module_name}!{f.func_name}"
                for f in info.value.frames]
    err = _text(run_wasmlite(["run", str(wasm)]).stderr)
    got = [m.group(1) for m in re.finditer(r"^ +\d+: +(0x[0-9a-f]+ - \S+)$", err, re.M)]
    assert got == expected, err


def test_unreachable_trap(tmp_path: Path) -> None:
    proc = run_wasmlite(["run", str(_wasm(tmp_path, "u.wasm", UNREACHABLE_WAT))])
    err = _text(proc.stderr)
    assert proc.returncode == 134, err
    assert err.rstrip().endswith("wasm trap: wasm `unreachable` instruction executed"), err


# ----------------------------------------------------------------------------- bad modules


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "bad-magic", "bad-version"])
def test_malformed_module_is_one_line_error(tmp_path: Path, kind: str) -> None:
    valid = wasmtime.wat2wasm(TRAP_WAT)
    data = {
        "truncated": valid[: len(valid) // 2],
        "garbage": b"this is not a WebAssembly module\n",
        "empty": b"",
        "bad-magic": b"\0wsm\x01\0\0\0",
        "bad-version": b"\0asm\x02\0\0\0",
    }[kind]
    path = tmp_path / f"{kind}.wasm"
    path.write_bytes(data)
    line = _assert_one_line_error(run_wasmlite(["run", str(path)]),
                                  f"failed to compile module `{path}`")
    assert proc_offset_re.search(line), line


proc_offset_re = re.compile(r"\(at offset 0x[0-9a-f]+\)$")


def test_invalid_module_is_one_line_error(tmp_path: Path) -> None:
    # (module (func (result i32) (i64.const 0))): type mismatch, built by hand because
    # wat2wasm only parses.
    body = b"\x00\x42\x00\x0b"
    data = (b"\0asm\x01\0\0\0"
            + b"\x01\x05\x01\x60\x00\x01\x7f"          # type section: [] -> [i32]
            + b"\x03\x02\x01\x00"                      # function section
            + b"\x0a" + bytes([len(body) + 2, 1, len(body)]) + body)
    with pytest.raises(wasmtime.WasmtimeError):
        wasmtime.Module(wasmtime.Engine(), data)  # the reference agrees it is invalid
    path = tmp_path / "invalid.wasm"
    path.write_bytes(data)
    line = _assert_one_line_error(run_wasmlite(["run", str(path)]), "type mismatch")
    assert proc_offset_re.search(line), line


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-module.wasm"
    _assert_one_line_error(run_wasmlite(["run", str(missing)]), str(missing))


def test_unknown_import(tmp_path: Path) -> None:
    line = _assert_one_line_error(
        run_wasmlite(["run", str(_wasm(tmp_path, "imp.wasm", IMPORT_WAT))]))
    assert "foo" in line and "bar" in line, line


def test_missing_dir_is_one_line_error(tmp_path: Path) -> None:
    _assert_one_line_error(run_wasmlite(["run", "--dir", str(tmp_path / "nope"), str(DEMO)]),
                           "nope")


# ----------------------------------------------------------------------------- --invoke


def test_invoke_prints_results(tmp_path: Path) -> None:
    wasm = _wasm(tmp_path, "inv.wasm", INVOKE_WAT)
    proc = run_wasmlite(["run", "--invoke", "add", str(wasm), "40", "2"])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == "42\n"
    proc = run_wasmlite(["run", "--invoke", "mix", str(wasm), "-21", "0x10", "3", "2.5"])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout).splitlines() == ["-42", "15", "0.75", "1.25"]
    proc = run_wasmlite(["run", "--invoke", "nothing", str(wasm)])
    assert proc.returncode == 0 and proc.stdout == b"", _text(proc.stderr)


def test_invoke_wraps_i32(tmp_path: Path) -> None:
    wasm = _wasm(tmp_path, "inv.wasm", INVOKE_WAT)
    proc = run_wasmlite(["run", "--invoke", "add", str(wasm), "4294967295", "2"])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == "1\n"


@pytest.mark.parametrize("args", [["add", "1"], ["add", "x", "1"], ["missing"], ["g"]])
def test_invoke_errors(tmp_path: Path, args: list[str]) -> None:
    wasm = _wasm(tmp_path, "inv.wasm", INVOKE_WAT)
    _assert_one_line_error(run_wasmlite(["run", "--invoke", args[0], str(wasm), *args[1:]]))


# ----------------------------------------------------------------------------- parsing


def test_guest_args_after_file_are_not_options() -> None:
    opts = parse_run_args(["--dir", "a::b", "-O2", "prog.wasm", "--help", "--dir", "x"], {})
    assert opts.file == "prog.wasm"
    assert opts.args == ["--help", "--dir", "x"]
    assert opts.dirs == [("a", "b")]
    assert opts.opt_level == "2"


def test_env_parsing() -> None:
    opts = parse_run_args(["--env", "A=1=2", "--env", "B", "--env", "C", "f.wasm"],
                          {"B": "host"})
    assert opts.env == [("A", "1=2"), ("B", "host")]


def test_help_and_version() -> None:
    proc = run_wasmlite(["--version"])
    assert proc.returncode == 0 and _text(proc.stdout).startswith("wasmlite ")
    proc = run_wasmlite(["run", "--help"])
    assert proc.returncode == 0 and "--invoke" in _text(proc.stdout)


@pytest.mark.parametrize("value", [0.75, 0.1, 1.0, -2.5, 1e20, 3.4028234663852886e38, -0.0])
def test_f32_results_print_like_rust(value: float) -> None:
    """Shortest text that reads back as the same f32, no exponent, no trailing ``.0``."""
    f32 = struct.unpack("<f", struct.pack("<f", value))[0]
    text = _f32_str(f32)
    assert "e" not in text and not text.endswith(".0"), text
    assert struct.pack("<f", float(text)) == struct.pack("<f", f32), text
    assert len(text.replace("-", "").replace(".", "").strip("0")) <= 9, text


def test_float_special_values() -> None:
    assert _f64_str(float("nan")) == "NaN"
    assert _f64_str(float("-inf")) == "-inf"
    assert _f32_str(0.1) == "0.1" == _f64_str(0.1)
    assert _f64_str(1e20) == "100000000000000000000"


def test_no_stray_outputs(tmp_path: Path) -> None:
    """A run leaves nothing behind in its working directory."""
    shutil.copy(DEMO, tmp_path / "demo.wasm")
    run_wasmlite(["run", "demo.wasm"], cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.wasm"]


def test_wast_subcommand_reports_and_sets_exit_status(tmp_path: Path) -> None:
    good = tmp_path / "good.wast"
    good.write_text('(module (func (export "add") (param i32 i32) (result i32)\n'
                    '  local.get 0 local.get 1 i32.add))\n'
                    '(assert_return (invoke "add" (i32.const 2) (i32.const 3)) (i32.const 5))\n'
                    '(assert_trap (module (func $f unreachable) (start $f)) "unreachable")\n')
    bad = tmp_path / "bad.wast"
    bad.write_text('(module (func (export "one") (result i32) i32.const 1))\n'
                   '(assert_return (invoke "one") (i32.const 2))\n')
    ok = run_wasmlite(["wast", str(good)])
    assert ok.returncode == 0, ok.stderr
    assert b"3 passed, 0 failed" in ok.stdout  # module + two assertions
    failed = run_wasmlite(["wast", str(good), str(bad)])
    assert failed.returncode == 1
    assert b"bad.wast:2" in failed.stdout + failed.stderr
    assert b"total: 4 passed, 1 failed" in failed.stdout


# ----------------------------------------------------------------------------- compile


@pytest.fixture(scope="module")
def demo_cwasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/demo.wasm precompiled at -O 0 (fast to compile) with `wasmlite compile`."""
    out = tmp_path_factory.mktemp("aot") / "demo-o0.cwasm"
    proc = run_wasmlite(["compile", "-O", "0", "-o", str(out), str(DEMO)])
    assert proc.returncode == 0, _text(proc.stderr)
    assert proc.stdout == b"" and proc.stderr == b""  # stderr is a pipe: no progress bar
    return out


def test_compile_then_run_precompiled(demo_cwasm: Path) -> None:
    from wasmlite.cache import MAGIC

    assert demo_cwasm.read_bytes()[:len(MAGIC)] == MAGIC
    proc = run_wasmlite(["run", "--allow-precompiled", "-O", "0", str(demo_cwasm)])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    assert proc.stderr == b""


def test_compile_default_output_is_the_module_name_with_cwasm(tmp_path: Path) -> None:
    """As `wasmtime compile`: `<MODULE>.cwasm`, in the current directory."""
    src = tmp_path / "src"
    src.mkdir()
    wasm = _wasm(src, "prog.wasm", TRAP_WAT)
    work = tmp_path / "work"
    work.mkdir()
    proc = run_wasmlite(["compile", str(wasm)], cwd=work)
    assert proc.returncode == 0, _text(proc.stderr)
    assert (work / "prog.cwasm").is_file()
    assert not (src / "prog.cwasm").exists()
    # the artifact is fully optimized (engine opt level 2, the default) and runs as the
    # module does, trap report and backtrace included
    proc = run_wasmlite(["run", "--allow-precompiled", "prog.cwasm"], cwd=work)
    plain = run_wasmlite(["run", "prog.wasm"], cwd=src)
    assert proc.returncode == plain.returncode == 134
    assert _text(proc.stderr).replace("prog.cwasm", "F") == \
        _text(plain.stderr).replace("prog.wasm", "F")


def test_compile_with_fuel_and_invoke(tmp_path: Path) -> None:
    wasm = _wasm(tmp_path, "loop.wasm", LOOP_WAT)
    out = tmp_path / "loop.cwasm"
    proc = run_wasmlite(["compile", "-W", "fuel=1", "-O", "0", "-o", str(out), str(wasm)])
    assert proc.returncode == 0, _text(proc.stderr)
    proc = run_wasmlite(["run", "--allow-precompiled", "-W", "fuel=5000", "-O", "0",
                         str(out)])
    assert proc.returncode == 134
    assert _text(proc.stderr).rstrip().endswith("wasm trap: all fuel consumed by WebAssembly")
    # without fuel the host refuses code compiled for it (Wasmtime's wording)
    _assert_one_line_error(
        run_wasmlite(["run", "--allow-precompiled", "-O", "0", str(out)]),
        f"failed to load precompiled module `{out}`",
        "Module was compiled with fuel support but it is not enabled for the host")


def test_precompiled_needs_allow_precompiled(demo_cwasm: Path) -> None:
    _assert_one_line_error(
        run_wasmlite(["run", "-O", "0", str(demo_cwasm)]),
        f"cannot load precompiled module `{demo_cwasm}` unless --allow-precompiled is passed")


def test_allow_precompiled_still_runs_wasm(tmp_path: Path) -> None:
    """As in Wasmtime, the flag allows a precompiled FILE; a .wasm still compiles."""
    proc = run_wasmlite(["run", "--allow-precompiled", str(DEMO)])
    assert proc.returncode == 0, _text(proc.stderr)
    assert _text(proc.stdout) == DEMO_EXPECTED.read_text()
    garbage = tmp_path / "garbage.cwasm"
    garbage.write_bytes(b"\0asm\x01\0\0\0\x99garbage")
    _assert_one_line_error(run_wasmlite(["run", "--allow-precompiled", str(garbage)]),
                           f"failed to compile module `{garbage}`")


@pytest.mark.parametrize("damage", ["truncated", "flipped", "short"])
def test_damaged_artifact_is_one_line_error(demo_cwasm: Path, tmp_path: Path,
                                            damage: str) -> None:
    good = demo_cwasm.read_bytes()
    bad = tmp_path / f"{damage}.cwasm"
    if damage == "truncated":
        bad.write_bytes(good[:len(good) // 2])
    elif damage == "flipped":
        data = bytearray(good)
        data[len(data) * 3 // 4] ^= 0x55
        bad.write_bytes(bytes(data))
    else:  # the magic and a few bytes of header
        bad.write_bytes(good[:20])
    line = _assert_one_line_error(run_wasmlite(["run", "--allow-precompiled", "-O", "0",
                                                str(bad)]),
                                  f"failed to load precompiled module `{bad}`")
    assert "corrupt" in line or "not a compatible" in line


def test_artifact_from_other_settings_is_one_line_error(demo_cwasm: Path) -> None:
    _assert_one_line_error(
        run_wasmlite(["run", "--allow-precompiled", str(demo_cwasm)]),   # -O 2 here
        "Module was compiled with a different 'opt_level' setting")
    _assert_one_line_error(
        run_wasmlite(["run", "--allow-precompiled", "-O", "0", "-W", "timeout=60s",
                      str(demo_cwasm)]),
        "Module was compiled without epoch interruption but it is enabled for the host")


@pytest.mark.parametrize("args, needle", [
    (["/"], "'/' is not a valid input module path"),
    (["missing.wasm"], "failed to read input file `missing.wasm`"),
    (["-O", "9", "x.wasm"], "invalid optimisation level `9`"),
    (["-W", "bogus", "x.wasm"], "unknown -W option `bogus`"),
])
def test_compile_errors_are_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    _assert_one_line_error(run_wasmlite(["compile", *args], cwd=tmp_path), needle)


def test_compile_bad_module_and_unwritable_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x02\0\0\0")
    _assert_one_line_error(run_wasmlite(["compile", str(bad)], cwd=tmp_path),
                           f"failed to compile module `{bad}`")
    assert not (tmp_path / "bad.cwasm").exists()
    wasm = _wasm(tmp_path, "ok.wasm", RETURN_WAT)
    out = tmp_path / "no-such-dir" / "ok.cwasm"
    _assert_one_line_error(run_wasmlite(["compile", "-O", "0", "-o", str(out), str(wasm)]),
                           f"failed to write output: {out}")


# ----------------------------------------------------------------------------- progress


def _run_on_pty(args: list[str], cwd: Path,
                delay: str | None = "0") -> tuple[int, bytes, bytes]:
    """Run ``wasmlite ARGS`` with stderr on a pseudo-terminal of 100 columns (stdout a
    pipe): ``(exit status, stdout, what the terminal received)``.  ``delay`` is the
    progress bar's delay in seconds (``None``: the default, one second); 0 by default,
    so that a compilation that is quick on a fast machine still shows its bar."""
    import fcntl
    import pty
    import subprocess
    import termios

    from conftest import subprocess_timeout, wasmlite_command

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = dict(os.environ)
    env.pop("WASMLITE_PROGRESS", None)
    env.pop("WASMLITE_PROGRESS_DELAY", None)
    if delay is not None:
        env["WASMLITE_PROGRESS_DELAY"] = delay
    proc = subprocess.Popen(wasmlite_command() + args, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    out = proc.stdout.read() if proc.stdout is not None else b""
    status = proc.wait(timeout=subprocess_timeout())
    return status, out, b"".join(chunks)


def test_compile_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    status, out, term = _run_on_pty(["compile", str(DEMO)], tmp_path)
    assert status == 0, _text(term)
    assert (tmp_path / "demo.cwasm").is_file()
    text = _text(term)
    assert "Compiling:" in text and "%|" in text, text
    # it moved with the compiler's stages and was erased at the end
    assert len(set(re.findall(r"(\d+)%\|", text))) >= 2, text
    assert text.rstrip(" \r").endswith("\r") or text.endswith("\r"), repr(text[-200:])
    assert out == b""


def test_a_quick_compile_shows_nothing(tmp_path: Path) -> None:
    """Under a second (the default delay): no bar, even on a terminal."""
    wasm = _wasm(tmp_path, "tiny.wasm", RETURN_WAT)
    status, _out, term = _run_on_pty(["compile", "-O", "0", str(wasm)], tmp_path, None)
    assert status == 0 and term == b"", _text(term)


def test_eager_run_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    args = ["run", "-C", "strategy=cranelift", str(DEMO)]
    status, out, term = _run_on_pty(args, tmp_path)
    assert status == 0, _text(term)
    assert _text(out) == DEMO_EXPECTED.read_text()   # the program's output is untouched
    assert "Compiling:" in _text(term), _text(term)
    # stderr not a terminal: nothing but the program's own stderr (none)
    proc = run_wasmlite(args)
    assert proc.returncode == 0 and proc.stderr == b"", _text(proc.stderr)
    # the lazy default compiles as functions are called: no bar
    status, out, term = _run_on_pty(["run", str(DEMO)], tmp_path)
    assert status == 0 and b"Compiling" not in term, _text(term)
