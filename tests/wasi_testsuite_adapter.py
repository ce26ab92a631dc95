"""wasmlite's runtime adapter for the official WASI testsuite runner (``run-tests``).

The runner (``test-runner/wasi_test_runner`` of WebAssembly/wasi-testsuite, Python >= 3.12)
loads this file as a module and calls, per its adapter protocol (``doc/adapters.md``,
``runtime_adapter.py``):

* ``get_name()`` and ``get_version()`` — shown in the runner's report; the version is what
  ``wasmlite --version`` prints after the name (``wasmlite 0.1.0`` → ``0.1.0``);
* ``get_wasi_versions()`` and ``get_wasi_worlds()`` — which test suites and WIT worlds the
  runner runs with this runtime; the rest it skips;
* ``compute_argv(test_path, (args, env, dirs), proposals, world, wasi_version)`` — the
  command line for one test: ``wasmlite run --env K=V... --dir HOST::GUEST... TEST ARGS...``.
  ``dirs`` holds ``(host path, guest name)`` pairs; the runner compares the process's exit
  status and, where a test gives them, its stdout and stderr.

Running the file as a script must print nothing (the runner checks that, to tell this
module-style adapter from the older script-style ones), so nothing happens at import.

The command is ``$WASMLITE`` split like a shell would (default: ``wasmlite`` on ``PATH``),
e.g. ``WASMLITE="/path/to/venv/bin/python -m wasmlite.cli"``; options of the ``run``
command may follow ``run`` (``WASMLITE="wasmlite run -O 0"``); without ``run`` the
adapter appends it.

This file runs under the runner's interpreter, not necessarily the one wasmlite is
installed in, so it imports nothing but the standard library.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

#: The wasmlite command, as a list of words.
WASMLITE = shlex.split(os.environ.get("WASMLITE", "wasmlite"))

#: WASI versions whose suites the runner should run with wasmlite.  wasmlite implements
#: WASI preview 1 only; wasm32-wasip3 is listed too so that the runner *runs* those tests
#: (and reports them failed while wasmlite has no component model) instead of skipping
#: them: the project's known-failures list then notices the day one starts to pass.
WASI_VERSIONS = ["wasm32-wasip1", "wasm32-wasip3"]

#: WIT worlds: a command (``_start``).  ``wasi:http/service`` needs a ``serve`` command
#: that wasmlite does not have, so those tests are skipped by the runner.
WASI_WORLDS = ["wasi:cli/command"]


def _command() -> list[str]:
    """``$WASMLITE`` with the ``run`` subcommand (appended unless already there)."""
    words = list(WASMLITE)
    if not words:
        raise ValueError("WASMLITE is empty: expected the wasmlite command")
    return words if "run" in words else [*words, "run"]


def _launcher() -> list[str]:
    """``$WASMLITE`` up to (not including) its ``run`` subcommand and options."""
    words = _command()
    return words[: words.index("run")]


def get_name() -> str:
    """The runtime's name, as the runner prints it."""
    return "wasmlite"


def get_version() -> str:
    """wasmlite's version, from ``wasmlite --version`` (``wasmlite X.Y.Z`` → ``X.Y.Z``).

    Raises ``subprocess.CalledProcessError`` or ``FileNotFoundError`` when the command
    cannot run, which the runner reports as an unavailable runtime.
    """
    result = subprocess.run([*_launcher(), "--version"], capture_output=True, text=True,
                            check=True)
    words = result.stdout.split()
    if len(words) < 2 or words[0] != "wasmlite":
        raise subprocess.CalledProcessError(
            result.returncode, result.args, result.stdout,
            f"unexpected `--version` output: {result.stdout!r}")
    return words[1]


def get_wasi_versions() -> list[str]:
    """The WASI versions (``wasm32-wasip1``, ...) whose tests are to be run."""
    return list(WASI_VERSIONS)


def get_wasi_worlds() -> list[str]:
    """The WIT worlds (``wasi:cli/command``, ...) whose tests are to be run."""
    return list(WASI_WORLDS)


def compute_argv(test_path: str,
                 args_env_dirs: tuple[list[str], dict[str, str], list[tuple[Path, str]]],
                 proposals: list[str],
                 wasi_world: str,
                 wasi_version: str) -> list[str]:
    """The command line that runs the test program ``test_path``.

    ``args_env_dirs`` is (guest arguments, environment, (host dir, guest dir) pairs).
    ``proposals`` (``http``, ``sockets``), ``wasi_world`` and ``wasi_version`` select
    nothing: wasmlite has one way to run a program, and reports on stderr, with a
    non-zero status, what it cannot run.
    """
    del proposals, wasi_world, wasi_version  # see the docstring
    args, env, dirs = args_env_dirs
    argv = _command()
    for name, value in env.items():
        argv += ["--env", f"{name}={value}"]
    for host, guest in dirs:
        argv += ["--dir", f"{host}::{guest}"]
    # `--` ends wasmlite's options, so that a test file name starting with `-` is a file.
    argv += ["--", str(test_path)]
    argv += [str(arg) for arg in args]
    return argv
