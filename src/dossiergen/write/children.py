"""Child processes that die with the build: pandoc, LibreOffice, the writers' fork server and workers.

On Linux each child asks the kernel for SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG),
so a build killed with SIGKILL leaves nothing running: the fork server dies with the build, its
workers with the fork server, pandoc and LibreOffice with the worker that started them. External
commands also run in their own process group, so a time limit stops the whole group.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _find_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _find_prctl()  # looked up once: die_with_parent also runs between fork and exec


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent exits (Linux; elsewhere nothing)."""
    if _PRCTL is None or _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() == 1:  # the parent died before the request: nobody is left to wait for us
        os._exit(1)


# A command whose own children do not die with it (LibreOffice: soffice -> oosplash -> soffice.bin)
# runs under this guard, the leader of its process group: told by SIGTERM that its parent died,
# it kills the whole group.
GUARD = """
import ctypes, os, signal, subprocess, sys
signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)
if os.getppid() == 1:
    os.killpg(0, signal.SIGKILL)
sys.exit(subprocess.call(sys.argv[1:]))
"""


def run_child(command: list[str], *, timeout: float, cwd=None, env=None, text: bool = False,
              whole_group: bool = False) -> subprocess.CompletedProcess:
    """Run a command like subprocess.run(capture_output=True), in its own process group, killed
    with its parent (with whole_group, its children too); past the timeout the whole group is
    killed and TimeoutExpired raised."""
    if whole_group and _PRCTL is not None:
        command = [sys.executable, "-c", GUARD, *command]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env, text=text,
                          start_new_session=True, preexec_fn=die_with_parent) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:  # the time limit, or the build being interrupted: stop the group
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.communicate()
            raise
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def in_fork_server() -> bool:
    """Return True in multiprocessing's fork server process (started as `python -c 'from
    multiprocessing.forkserver import main; ...'`)."""
    return "multiprocessing.forkserver" in " ".join(getattr(sys, "orig_argv", ()))


if in_fork_server():  # imported there as a preloaded module: the fork server dies with the build
    die_with_parent()


def descendants(pid: int) -> set[int]:
    """Return the ids of every living process below pid (children, their children, …), read from
    /proc (Linux; elsewhere none): what a build has started (tests of its clean-up, bench's memory)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, ppid in parents.items() if ppid == parent} - found
        found |= children
        todo += children
    return found
