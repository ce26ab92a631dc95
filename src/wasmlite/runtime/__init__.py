"""wasmlite.runtime: the native side of instances (layouts in ``environ/vmoffsets.py``).

* :mod:`.memory` — linear memories on ``mmap`` (whole maximum reserved, grown with
  ``mprotect``; ``base`` never moves);
* :mod:`.table`, :mod:`.globals` — tables and globals with their ``VMTable``/``VMGlobal``;
* :mod:`.store` — the per-Store ``VMStoreContext``, externref handles, pending host
  exception;
* :mod:`.instance` — VMContext allocation and filling, constant expressions, segment
  initialisation (spec §4.5.4);
* :mod:`.builtins` — the ``BUILTIN_*`` ctypes callbacks generated code calls.

The public API (``wasmlite.Store``, ``wasmlite.Instance``, ...) is built on top of it.
"""
