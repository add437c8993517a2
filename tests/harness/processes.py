"""What both harnesses need to run local processes: the cache folder, free loopback ports, pids.

Processes are found by pid AND a tag in their command line (the work directory, or a -D property), so a
reused pid never gets a signal meant for one of ours.
"""

import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

LOOPBACK = "127.0.0.1"


def cache_root():
    """Folder for everything downloaded, built or generated outside the repository."""
    return Path(os.environ.get("PINOTOPS_CACHE", Path.home() / ".cache" / "pinotops"))


def free_ports(count):
    """Ports free on loopback now; the sockets are held together so the ports are distinct."""
    sockets = []
    try:
        for _index in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_open(port):
    """Whether something accepts TCP connections on the loopback port."""
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(1)
        return sock.connect_ex((LOOPBACK, port)) == 0


def pid_is(pid, tag):
    """Whether pid is a running (not zombie) process whose command line carries the tag."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    # the state letter follows the parenthesised command name
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return False
    return tag.encode() in cmdline


def reap(pid):
    """Collect the exit status if pid is our child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def terminate_all(targets, graceful=True, deadline=60, log=_stderr):
    """Stop (pid, tag) processes together: SIGTERM, wait up to deadline, then SIGKILL what is left."""
    def alive():
        left = []
        for pid, tag in targets:
            reap(pid)
            if pid_is(pid, tag):
                left.append((pid, tag))
        return left

    def signal_all(pending, sig):
        for pid, _tag in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    pending = alive()
    signal_all(pending, signal.SIGTERM if graceful else signal.SIGKILL)
    end = time.monotonic() + (deadline if graceful else 10)
    while pending and time.monotonic() < end:
        time.sleep(0.2)
        pending = alive()
    if pending:
        log(f"pids {[pid for pid, _tag in pending]} did not stop within {deadline}s: SIGKILL")
        signal_all(pending, signal.SIGKILL)
        for _attempt in range(50):
            pending = alive()
            if not pending:
                break
            time.sleep(0.2)


def terminate(pid, tag, graceful=True, deadline=60, log=_stderr):
    """Stop one process by pid: SIGTERM and wait, then SIGKILL (at once when not graceful)."""
    terminate_all([(pid, tag)], graceful, deadline, log)
