"""The interestingness predicate that ``wasm-tools shrink`` runs for each attempt.

``python -S fuzz/_predicate.py SOCKET FILE`` asks the shrinking fuzzer (listening on
the Unix socket ``SOCKET``) whether ``FILE`` still fails the same way, and exits 0
when it does, 1 when it does not.  The fuzzer keeps its worker processes running, so
an attempt costs one comparison, not two interpreter starts.
"""

import socket
import sys


def main() -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    sock.sendall(sys.argv[2].encode() + b"\n")
    answer = sock.recv(1)
    return 0 if answer == b"1" else 1


if __name__ == "__main__":
    sys.exit(main())
