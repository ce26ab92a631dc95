"""Checking the function bodies of a big module on several cores.

Once the sections of a module are decoded, each function body validates on its own:
what it needs of the module (function types, globals, tables, memories, segments,
``C.refs``) is the small picklable tuple of :func:`wasmlite.validate.fast.body_env`.
:func:`rejected_bodies` splits the defined functions into contiguous runs of about
equal code size; the first run is checked in this process while worker processes check
the others and send back the positions of the bodies the fast path rejected.  The
caller re-checks those in module order with the reference path, which raises the first
error, so the error reported is the same as with one process.

Worker processes only pay off on big enough modules: forking one costs a few
milliseconds, a forkserver worker seconds (it imports wasmlite).  Below
:data:`MIN_PARALLEL_CODE_BYTES` of code (:data:`MIN_FORKSERVER_CODE_BYTES` when other
threads run), or with one core, everything runs in this process.  The measurements
behind the thresholds are in ``docs/architecture.md``, "Decoding and validation
speed".

Workers are forked with ``os.fork`` when this process runs a single thread (the
cheapest start: a child reads the module from the memory it shares with the parent, and
only its verdicts travel back, through a pipe), and come from a ``multiprocessing``
``forkserver`` otherwise (forking a process in which other threads may hold locks is
unsafe); those are sent their run's bytes and the local declarations of its bodies.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

from wasmlite.environ.module import REF_BASE, FuncType, ModuleInfo
from wasmlite.validate import fast

__all__ = ["rejected_bodies", "MIN_PARALLEL_CODE_BYTES", "MIN_FORKSERVER_CODE_BYTES",
           "default_workers"]

#: Bytes of function bodies from which :func:`rejected_bodies` uses worker processes
#: when ``workers`` is ``None`` and they can be forked (this process runs one thread).
MIN_PARALLEL_CODE_BYTES = 500_000
#: The same when they must come from a forkserver (its workers import wasmlite: seconds).
MIN_FORKSERVER_CODE_BYTES = 16_000_000


def default_workers(code_bytes: int, forked: bool = True) -> int:
    """How many processes (this one included) check ``code_bytes`` of function bodies
    when the caller does not say: 1 below :data:`MIN_PARALLEL_CODE_BYTES` (or
    :data:`MIN_FORKSERVER_CODE_BYTES` when not ``forked``), else the number of CPUs
    this process may run on (at most 8)."""
    if code_bytes < (MIN_PARALLEL_CODE_BYTES if forked else MIN_FORKSERVER_CODE_BYTES):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _locals(params: list[int], decls: list[tuple[int, int]]):
    from wasmlite.validate.validator import _body_locals

    if any(t >= REF_BASE for _c, t in decls):
        return None   # typed locals (their types, initialization): the reference path's
    return _body_locals(FuncType(tuple(params), ()), decls)


def _specs(env: tuple, items: list[tuple[int, list, int, int]], base: int) -> Iterator:
    sigs = env[0]
    for funcidx, decls, start, end in items:
        params, results = sigs[funcidx]
        yield _locals(params, decls), results, start - base, end - base


def _check_run(data: bytes, base: int, items: list, env: tuple) -> list[int]:
    """Worker entry point: the positions in ``items`` of the bodies rejected."""
    return fast.first_invalid(data, _specs(env, items, base), env)


def _runs(info: ModuleInfo, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``[lo, hi)`` ranges of defined-function indices with about
    the same number of code bytes each."""
    codes = info.codes
    total = sum(c.body_end - c.offset for c in codes)
    runs = []
    lo = 0
    acc = 0
    for i, c in enumerate(codes):
        acc += c.body_end - c.offset
        if acc * parts >= total * (len(runs) + 1) and len(runs) < parts - 1:
            runs.append((lo, i + 1))
            lo = i + 1
    runs.append((lo, len(codes)))
    return [r for r in runs if r[0] < r[1]]


def rejected_bodies(info: ModuleInfo, func_types: list[FuncType], env: tuple,
                    workers: int | None = None) -> list[int]:
    """The defined-function indices (in order) whose bodies the fast path rejects.

    ``func_types`` is the function index space's types, ``env`` from
    :func:`wasmlite.validate.fast.body_env`.  ``workers``: number of processes, this
    one included (``None``: :func:`default_workers`; ``0`` or ``1``: this process
    only).  Raises :class:`OSError` only when worker processes cannot be started.
    """
    codes = info.codes
    nimp = info.num_imported_funcs
    code_bytes = (codes[-1].body_end - codes[0].offset) if codes else 0
    if workers != 1 and code_bytes >= MIN_PARALLEL_CODE_BYTES:
        # the process's routines may be compiling on their own thread (Engine());
        # let them finish, so that the workers can be forked
        from wasmlite.runtime import routines

        routines.wait()
    can_fork = threading.active_count() == 1 and hasattr(os, "fork")
    parts = default_workers(code_bytes, can_fork) if workers is None else max(1, workers)
    parts = min(parts, len(codes)) or 1
    data = info.bytes
    items = [(nimp + i, c.locals, c.body_start, c.body_end) for i, c in enumerate(codes)]
    if parts == 1:
        return fast.first_invalid(data, _specs(env, items, 0), env)
    runs = _runs(info, parts)
    if can_fork:
        return _forked(data, items, env, runs)
    import multiprocessing  # only here: importing it costs tens of milliseconds

    mp = multiprocessing.get_context("forkserver")
    results: list[list[int]] = []
    with mp.Pool(len(runs) - 1) as pool:
        pending = []
        for lo, hi in runs[1:]:
            base = codes[lo].body_start
            chunk = data[base:codes[hi - 1].body_end]
            pending.append((lo, pool.apply_async(_check_run,
                                                 (chunk, base, items[lo:hi], env))))
        lo, hi = runs[0]
        results.append(fast.first_invalid(data, _specs(env, items[lo:hi], 0), env))
        for lo, res in pending:
            results.append([lo + k for k in res.get()])
    return [i for run in results for i in run]


def _forked(data: bytes, items: list, env: tuple, runs: list[tuple[int, int]]) -> list[int]:
    """:func:`rejected_bodies` with one forked child per run but the first: a child
    reads the module from the memory it shares with this process and writes the
    rejected indices of its run (pickled) to a pipe.  A run whose child fails is
    checked here instead."""
    import pickle  # only here: 11 ms of every cold start otherwise

    children = []
    for lo, hi in runs[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(r)
                res = fast.first_invalid(data, _specs(env, items[lo:hi], 0), env)
                with os.fdopen(w, "wb") as f:
                    f.write(pickle.dumps([lo + k for k in res]))
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        children.append((lo, hi, pid, r))
    lo, hi = runs[0]
    out = fast.first_invalid(data, _specs(env, items[lo:hi], 0), env)
    for lo, hi, pid, r in children:
        with os.fdopen(r, "rb") as f:
            payload = f.read()
        _, status = os.waitpid(pid, 0)
        if status == 0 and payload:
            out += pickle.loads(payload)
        else:  # pragma: no cover - the child died (out of memory, killed)
            out += [lo + k for k in fast.first_invalid(
                data, _specs(env, items[lo:hi], 0), env)]
    return out
