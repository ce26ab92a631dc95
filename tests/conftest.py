"""Shared test helpers: where ../shared is, how to run the CLI, suite summaries.

``WASMLITE_SHARED`` points at the shared data (default: ``../shared`` beside the
repository root).  ``WASMLITE_TEST_TIMEOUT`` (seconds, default 600) bounds each CLI
subprocess so that a hang fails one test instead of the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Test files whose results are summarised at the end of the run as ``N passed, N failed``.
SUITES = {
    "tests/test_wasi_testsuite.py": "wasi-testsuite",
    "tests/test_sightglass.py": "sightglass",
}


def shared_dir() -> Path:
    """The shared data directory: ``$WASMLITE_SHARED`` or ``../shared`` beside the repo."""
    env = os.environ.get("WASMLITE_SHARED")
    return Path(env).resolve() if env else (REPO_ROOT.parent / "shared").resolve()


def subprocess_timeout() -> float:
    """Seconds one CLI subprocess may take before the test fails as hung."""
    return float(os.environ.get("WASMLITE_TEST_TIMEOUT", "600"))


def wasmlite_command() -> list[str]:
    """The command that starts the CLI: ``python -m wasmlite.cli`` of this interpreter."""
    return [sys.executable, "-m", "wasmlite.cli"]


def run_wasmlite(args: list[str], *, cwd: str | Path | None = None,
                 env: dict[str, str] | None = None,
                 stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``wasmlite ARGS`` as a subprocess, capturing stdout and stderr as bytes.

    stdin is ``/dev/null`` unless ``stdin`` bytes are given.  Fails the calling test
    (``pytest.fail``) if the process outlives :func:`subprocess_timeout`.
    """
    try:
        return subprocess.run(
            wasmlite_command() + list(args), cwd=cwd, env=env, capture_output=True,
            input=stdin if stdin is not None else b"", timeout=subprocess_timeout(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"wasmlite {' '.join(args)} did not finish within "
                    f"{subprocess_timeout():.0f} s")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    """Print ``<suite>: N passed, N failed, ...`` for each suite run in this session."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "xfailed", "xpassed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            for prefix, suite in SUITES.items():
                if nodeid.startswith(prefix + "::"):
                    # count each test once: a failed setup is an error, else the call
                    if outcome == "error" or getattr(report, "when", "call") in ("call", "setup"):
                        bucket = counts.setdefault(suite, {})
                        bucket[outcome] = bucket.get(outcome, 0) + 1
    for suite, bucket in counts.items():
        parts = [f"{bucket.get('passed', 0)} passed", f"{bucket.get('failed', 0)} failed"]
        labels = {"xfailed": "known failures (xfail)", "xpassed": "known failures now passing",
                  "skipped": "skipped", "error": "errors"}
        parts += [f"{bucket[k]} {label}" for k, label in labels.items() if bucket.get(k)]
        terminalreporter.write_line(f"{suite}: {', '.join(parts)}")
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        props = dict(getattr(report, "user_properties", ()))
        if "wasi_official_summary" in props:  # tests/test_wasi_official.py
            for line in props["wasi_official_summary"]:
                terminalreporter.write_line(f"official WASI testsuite (run-tests), {line}")
    totals = [0, 0]
    seconds = compile_seconds = 0.0
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") == "call":
                props = dict(getattr(report, "user_properties", ()))
                totals[0] += props.get("wast_passed", 0)
                totals[1] += props.get("wast_failed", 0)
                seconds += props.get("wast_seconds", 0.0)
                compile_seconds += props.get("wast_compile_seconds", 0.0)
    if totals != [0, 0]:
        terminalreporter.write_line(
            f"wasm-spec 2.0 commands: {totals[0]} passed, {totals[1]} failed "
            "(failures listed with reasons in tests/spec_known_failures.txt); "
            f"the scripts ran {seconds:.1f} s (summed over workers), of which "
            f"{compile_seconds:.1f} s ({100 * compile_seconds / max(seconds, 1e-9):.0f} %) "
            "built modules")
