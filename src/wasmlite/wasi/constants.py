"""WASI preview 1 constants: errno, rights, flags and enums.

Numbers follow the witx definitions of ``wasi_snapshot_preview1``
(``phases/snapshot/witx/typenames.witx`` in WebAssembly/WASI).
"""

from __future__ import annotations

import errno as _host

# --- errno (witx: $errno, u16) ---------------------------------------------------
ESUCCESS = 0
E2BIG = 1
EACCES = 2
EADDRINUSE = 3
EADDRNOTAVAIL = 4
EAFNOSUPPORT = 5
EAGAIN = 6
EALREADY = 7
EBADF = 8
EBADMSG = 9
EBUSY = 10
ECANCELED = 11
ECHILD = 12
ECONNABORTED = 13
ECONNREFUSED = 14
ECONNRESET = 15
EDEADLK = 16
EDESTADDRREQ = 17
EDOM = 18
EDQUOT = 19
EEXIST = 20
EFAULT = 21
EFBIG = 22
EHOSTUNREACH = 23
EIDRM = 24
EILSEQ = 25
EINPROGRESS = 26
EINTR = 27
EINVAL = 28
EIO = 29
EISCONN = 30
EISDIR = 31
ELOOP = 32
EMFILE = 33
EMLINK = 34
EMSGSIZE = 35
EMULTIHOP = 36
ENAMETOOLONG = 37
ENETDOWN = 38
ENETRESET = 39
ENETUNREACH = 40
ENFILE = 41
ENOBUFS = 42
ENODEV = 43
ENOENT = 44
ENOEXEC = 45
ENOLCK = 46
ENOLINK = 47
ENOMEM = 48
ENOMSG = 49
ENOPROTOOPT = 50
ENOSPC = 51
ENOSYS = 52
ENOTCONN = 53
ENOTDIR = 54
ENOTEMPTY = 55
ENOTRECOVERABLE = 56
ENOTSOCK = 57
ENOTSUP = 58
ENOTTY = 59
ENXIO = 60
EOVERFLOW = 61
EOWNERDEAD = 62
EPERM = 63
EPIPE = 64
EPROTO = 65
EPROTONOSUPPORT = 66
EPROTOTYPE = 67
ERANGE = 68
EROFS = 69
ESPIPE = 70
ESRCH = 71
ESTALE = 72
ETIMEDOUT = 73
ETXTBSY = 74
EXDEV = 75
ENOTCAPABLE = 76

#: host ``errno`` -> WASI errno, as Wasmtime maps them (``wasmtime_wasi::filesystem``'s
#: ``from_raw_os_error``): only these host codes keep their meaning.
HOST_ERRNO: dict[int, int] = {}
for _name in ("EPIPE", "EPERM", "ENOENT", "ENOMEM", "EIO", "EBADF", "EBUSY", "EACCES",
              "ENOTDIR", "EISDIR", "EINVAL", "EEXIST", "EFBIG", "ENOSPC", "ESPIPE", "EMLINK",
              "ENAMETOOLONG", "ENOTEMPTY", "ELOOP", "EOVERFLOW", "EILSEQ", "ENOTSUP",
              "EALREADY", "EINPROGRESS", "EINTR"):
    _h = getattr(_host, _name, None)
    if isinstance(_h, int):
        HOST_ERRNO.setdefault(_h, globals()[_name])
if hasattr(_host, "EOPNOTSUPP"):
    HOST_ERRNO.setdefault(_host.EOPNOTSUPP, ENOTSUP)


def errno_from_oserror(exc: OSError) -> int:
    """The WASI errno Wasmtime reports for a host ``OSError``.

    The host codes of :data:`HOST_ERRNO` map to their WASI namesakes; any other code
    becomes ``EIO`` (Wasmtime falls back on Rust's ``io::ErrorKind``, which gives
    ``EIO`` for all of them: ``EROFS``, ``EXDEV``, ``EMFILE``, ``EAGAIN``, ...).
    """
    return HOST_ERRNO.get(exc.errno or 0, EIO)


# --- rights (witx: $rights, u64 flags) -------------------------------------------
RIGHTS_FD_DATASYNC = 1 << 0
RIGHTS_FD_READ = 1 << 1
RIGHTS_FD_SEEK = 1 << 2
RIGHTS_FD_FDSTAT_SET_FLAGS = 1 << 3
RIGHTS_FD_SYNC = 1 << 4
RIGHTS_FD_TELL = 1 << 5
RIGHTS_FD_WRITE = 1 << 6
RIGHTS_FD_ADVISE = 1 << 7
RIGHTS_FD_ALLOCATE = 1 << 8
RIGHTS_PATH_CREATE_DIRECTORY = 1 << 9
RIGHTS_PATH_CREATE_FILE = 1 << 10
RIGHTS_PATH_LINK_SOURCE = 1 << 11
RIGHTS_PATH_LINK_TARGET = 1 << 12
RIGHTS_PATH_OPEN = 1 << 13
RIGHTS_FD_READDIR = 1 << 14
RIGHTS_PATH_READLINK = 1 << 15
RIGHTS_PATH_RENAME_SOURCE = 1 << 16
RIGHTS_PATH_RENAME_TARGET = 1 << 17
RIGHTS_PATH_FILESTAT_GET = 1 << 18
RIGHTS_PATH_FILESTAT_SET_SIZE = 1 << 19
RIGHTS_PATH_FILESTAT_SET_TIMES = 1 << 20
RIGHTS_FD_FILESTAT_GET = 1 << 21
RIGHTS_FD_FILESTAT_SET_SIZE = 1 << 22
RIGHTS_FD_FILESTAT_SET_TIMES = 1 << 23
RIGHTS_PATH_SYMLINK = 1 << 24
RIGHTS_PATH_REMOVE_DIRECTORY = 1 << 25
RIGHTS_PATH_UNLINK_FILE = 1 << 26
RIGHTS_POLL_FD_READWRITE = 1 << 27
RIGHTS_SOCK_SHUTDOWN = 1 << 28
RIGHTS_SOCK_ACCEPT = 1 << 29

#: Rights Wasmtime reports for a regular file (wasmtime-wasi preview1 ``FILE_BASE_RIGHTS``'s set).
FILE_RIGHTS = (
    RIGHTS_FD_DATASYNC | RIGHTS_FD_READ | RIGHTS_FD_SEEK | RIGHTS_FD_FDSTAT_SET_FLAGS
    | RIGHTS_FD_SYNC | RIGHTS_FD_TELL | RIGHTS_FD_WRITE | RIGHTS_FD_ADVISE | RIGHTS_FD_ALLOCATE
    | RIGHTS_FD_FILESTAT_GET | RIGHTS_FD_FILESTAT_SET_SIZE | RIGHTS_FD_FILESTAT_SET_TIMES
    | RIGHTS_POLL_FD_READWRITE
)
#: Rights Wasmtime reports for a directory.
DIRECTORY_RIGHTS = (
    RIGHTS_PATH_CREATE_DIRECTORY | RIGHTS_PATH_CREATE_FILE | RIGHTS_PATH_LINK_SOURCE
    | RIGHTS_PATH_LINK_TARGET | RIGHTS_PATH_OPEN | RIGHTS_FD_READDIR | RIGHTS_PATH_READLINK
    | RIGHTS_PATH_RENAME_SOURCE | RIGHTS_PATH_RENAME_TARGET | RIGHTS_PATH_FILESTAT_GET
    | RIGHTS_PATH_FILESTAT_SET_TIMES | RIGHTS_FD_FILESTAT_GET | RIGHTS_FD_FILESTAT_SET_TIMES
    | RIGHTS_PATH_SYMLINK | RIGHTS_PATH_REMOVE_DIRECTORY | RIGHTS_PATH_UNLINK_FILE
)
#: Every right of preview 1.
ALL_RIGHTS = (1 << 30) - 1
#: Rights Wasmtime reports for stdin, and for stdout/stderr.
STDIN_RIGHTS = RIGHTS_FD_READ
STDOUT_RIGHTS = RIGHTS_FD_WRITE
#: Rights Wasmtime reports (base and inheriting) for a directory opened with path_open.
OPENED_DIRECTORY_RIGHTS = ALL_RIGHTS & ~(RIGHTS_FD_SEEK | RIGHTS_FD_WRITE
                                         | RIGHTS_PATH_FILESTAT_SET_SIZE
                                         | RIGHTS_FD_FILESTAT_SET_SIZE)

# --- filetype (u8) ---------------------------------------------------------------
FILETYPE_UNKNOWN = 0
FILETYPE_BLOCK_DEVICE = 1
FILETYPE_CHARACTER_DEVICE = 2
FILETYPE_DIRECTORY = 3
FILETYPE_REGULAR_FILE = 4
FILETYPE_SOCKET_DGRAM = 5
FILETYPE_SOCKET_STREAM = 6
FILETYPE_SYMBOLIC_LINK = 7

# --- fdflags (u16) ---------------------------------------------------------------
FDFLAGS_APPEND = 1 << 0
FDFLAGS_DSYNC = 1 << 1
FDFLAGS_NONBLOCK = 1 << 2
FDFLAGS_RSYNC = 1 << 3
FDFLAGS_SYNC = 1 << 4

# --- oflags (u16) ----------------------------------------------------------------
OFLAGS_CREAT = 1 << 0
OFLAGS_DIRECTORY = 1 << 1
OFLAGS_EXCL = 1 << 2
OFLAGS_TRUNC = 1 << 3

# --- lookupflags (u32) -----------------------------------------------------------
LOOKUPFLAGS_SYMLINK_FOLLOW = 1 << 0

# --- fstflags (u16) --------------------------------------------------------------
FSTFLAGS_ATIM = 1 << 0
FSTFLAGS_ATIM_NOW = 1 << 1
FSTFLAGS_MTIM = 1 << 2
FSTFLAGS_MTIM_NOW = 1 << 3

# --- whence (u8) -----------------------------------------------------------------
WHENCE_SET = 0
WHENCE_CUR = 1
WHENCE_END = 2

# --- clockid (u32) ---------------------------------------------------------------
CLOCKID_REALTIME = 0
CLOCKID_MONOTONIC = 1
CLOCKID_PROCESS_CPUTIME_ID = 2
CLOCKID_THREAD_CPUTIME_ID = 3

# --- eventtype (u8), subclockflags (u16), eventrwflags (u16) ---------------------
EVENTTYPE_CLOCK = 0
EVENTTYPE_FD_READ = 1
EVENTTYPE_FD_WRITE = 2
SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME = 1 << 0
EVENTRWFLAGS_FD_READWRITE_HANGUP = 1 << 0

# --- advice (u8), preopentype (u8) -----------------------------------------------
ADVICE_NORMAL = 0
ADVICE_SEQUENTIAL = 1
ADVICE_RANDOM = 2
ADVICE_WILLNEED = 3
ADVICE_DONTNEED = 4
ADVICE_NOREUSE = 5
PREOPENTYPE_DIR = 0

# --- struct sizes (bytes) --------------------------------------------------------
SIZEOF_FDSTAT = 24
SIZEOF_FILESTAT = 64
SIZEOF_DIRENT = 24
SIZEOF_PRESTAT = 8
SIZEOF_SUBSCRIPTION = 48
SIZEOF_EVENT = 32
SIZEOF_IOVEC = 8
