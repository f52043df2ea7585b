"""The pipeline run on untrusted bytes in a child process with a memory and a time budget.

Why a child process: the libraries that read files (pypdfium2's PDFium above all, in C++)
allocate as the file tells them to. A 1 MB PDF whose page content inflates to 1 GiB took
PDFium past 2 GB while rendering its thumbnail; no check of the file beforehand can know
every such path, and a library cannot be stopped half-way from Python. So the process
that reads the file is one that may die: `os.fork()` (the libraries are already
imported, nothing starts again; what it costs grows with the size of the process forked,
tens of milliseconds a document for a 100 MB worker, see docs/limits.md) and, in the child,
`resource.setrlimit(RLIMIT_AS)` at the address space it starts with plus
`DOCUMENTS_PROCESSING_MEMORY_MB`. An allocation past that fails: Python raises
MemoryError, PDFium's allocator ends the process. Either way the child reports or dies,
the parent (the Celery worker's process, or the web process in the embedded default,
where tasks run in-process) never grows, and the document fails with a reason the owner
can act on. A parent clock (`DOCUMENTS_PROCESSING_TIMEOUT_SECONDS`) kills a child that
takes too long, which the in-process path has no Celery time limit for; `RLIMIT_CPU` and
a parent-death signal end a child whose parent was itself killed (Celery's hard limit).

The budget is relative to the process forked from (what it has mapped is shared, copy on
write, and counted by RLIMIT_AS), so it means the same in a 100 MB worker and in a web
process with many threads' arenas reserved: what reading one file may add.

The pipeline checks what files declare before it decodes them (Pillow's pixel limit,
DOCX zip sizes and ratios, pypdf's decompression limits, a PDF page's size and content
length before it is rendered): those refuse the usual bombs early, cheaply and with a
precise reason; the child process is the bound for everything they do not foresee.

It bounds resources, not privileges: the child holds what the parent holds (memory,
open connections, which it never uses), so a file that took control of a parsing
library would hold what the worker holds, as it would without the child. Its messages
(a pickle of the results on a pipe) come from our code in it.

Where `os.fork` or `resource` do not exist (not Linux or macOS), the pipeline runs in
the process itself with its own checks only, and says so in the log once.
"""

import faulthandler
import gc
import os
import pickle
import resource
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from apps.documents import pipeline
from city.logging import get_logger

logger = get_logger(__name__)

TOO_LARGE = "too_large_to_render"
TOO_SLOW = "too_slow_to_render"
# The child's exit codes that say what stopped it when it could not send a message.
_EXIT_OUT_OF_MEMORY = 3
_EXIT_CRASHED = 4
_PR_SET_PDEATHSIG = 1
# Seconds of CPU a child may use past the parent's clock, should the parent be gone.
_CPU_GRACE_SECONDS = 5

ISOLATED = hasattr(os, "fork") and hasattr(resource, "RLIMIT_AS")
_warned_not_isolated = False


def run(
    data: bytes, *, name: str, title: str, memory_mb: int, timeout_seconds: float
) -> pipeline.Results:
    """`pipeline.run` in a child process held to `memory_mb` more memory and
    `timeout_seconds`; raises `pipeline.Unreadable` as the pipeline does, and with the
    step it had reached when the child ran out of memory or time."""
    if not ISOLATED:
        _warn_not_isolated()
        return pipeline.run(data, name=name, title=title)
    reader, writer = _pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        reader.close()
        _child(
            writer,
            memory_mb,
            timeout_seconds,
            lambda on_step: pipeline.run(data, name=name, title=title, on_step=on_step),
        )
    writer.close()
    reached, outcome, ended = "read", None, False
    try:
        deadline = started + timeout_seconds
        while outcome is None:
            left = deadline - time.monotonic()
            if left <= 0 or not reader.poll(left):
                break  # out of time
            try:
                kind, value = reader.recv()
            except (EOFError, OSError):
                ended = True  # the child died; its status says how
                break
            if kind == "step":
                reached = value
            else:
                outcome = (kind, value)
    finally:
        # Out of time, or interrupted here (Celery's soft time limit): the child is killed.
        reader.close()
        status, peak_kb, killed = _reap(pid, kill=outcome is None and not ended)
    elapsed = time.monotonic() - started
    logger.info(
        "document_read",
        pid=pid,
        step=reached,
        outcome=outcome[0] if outcome else "stopped",
        exit=_describe(status),
        peak_mb=round(peak_kb / 1024),
        budget_mb=memory_mb,
        seconds=round(elapsed, 3),
    )
    if killed:
        raise pipeline.Unreadable(
            reached,
            f"{TOO_SLOW}: reading the file took longer than {timeout_seconds:g} seconds "
            f"(stopped at the {reached} step); it is too complex to process. Save it simpler "
            "(fewer pages or pictures) or in another format, and upload it again.",
        )
    return _result(outcome, reached, status, memory_mb=memory_mb, timeout=timeout_seconds)


def _pipe() -> tuple[Connection, Connection]:
    read_fd, write_fd = os.pipe()
    return Connection(read_fd, writable=False), Connection(write_fd, readable=False)


def _child(
    writer: Connection,
    memory_mb: int,
    timeout_seconds: float,
    work: Callable[[Callable[[str], None]], pipeline.Results],
) -> None:
    """Run `work` under the limits and send its outcome; always ends the process with
    os._exit, so nothing of the parent's (database connections, atexit handlers, the
    test runner) is closed or run twice."""
    code = 0
    try:
        _limit(memory_mb, timeout_seconds)
        try:
            message: tuple[str, Any] = ("results", work(lambda step: writer.send(("step", step))))
        except pipeline.Unreadable as error:
            message = ("unreadable", (error.step, error.reason))
        except MemoryError:
            message = ("memory", None)
        except Exception as error:  # raised again in the parent, as pipeline.run would
            message = ("raised", _portable(error))
        writer.send(message)
    except MemoryError:
        code = _EXIT_OUT_OF_MEMORY  # not even the message fitted
    except BaseException:
        code = _EXIT_CRASHED
    finally:
        os._exit(code)


def _portable(error: Exception) -> tuple[Exception, str]:
    """The error, or a RuntimeError saying what it was if it does not survive pickling,
    with the child's traceback (the parent logs it)."""
    trace = traceback.format_exc()
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, just made
    except Exception:
        error = RuntimeError(f"{type(error).__name__}: {error}"[:1000])
    return error, trace


def _limit(memory_mb: int, timeout_seconds: float) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the worker's handlers are not ours
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    faulthandler.disable()  # an allocator's abort is expected here, not a trace to print
    gc.freeze()  # the parent's objects are never collected here: their pages stay shared
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an out-of-memory abort dumps nothing
    cpu = int(timeout_seconds) + _CPU_GRACE_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL
    mapped = _address_space()
    if mapped is not None:
        limit = mapped + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: RLIMIT_CPU still ends it
        pass


def _address_space() -> int | None:
    """The bytes this process has mapped now (VmSize); None where /proc does not say
    (macOS, which does not enforce RLIMIT_AS anyway: the clock still holds there)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reap(pid: int, *, kill: bool) -> tuple[int, int, bool]:
    """Wait for the child (killed first, given `kill`, unless it has ended): its wait
    status, its peak resident memory (KB) and whether it was killed."""
    killed = False
    try:
        finished, status, usage = os.wait4(pid, os.WNOHANG)
        if finished == 0 and kill:
            os.kill(pid, signal.SIGKILL)
            killed = True
        if finished == 0:
            finished, status, usage = os.wait4(pid, 0)
    except ChildProcessError:  # reaped by someone else (a SIGCHLD handler)
        return 0, 0, False
    return status, usage.ru_maxrss, killed


def _describe(status: int | None) -> str:
    if status is None:
        return ""
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return str(os.WEXITSTATUS(status))


def _result(
    outcome: tuple[str, Any] | None, reached: str, status: int, *, memory_mb: int, timeout: float
) -> pipeline.Results:
    kind, value = outcome or ("", None)
    if kind == "results":
        return value
    if kind == "unreadable":
        raise pipeline.Unreadable(*value)
    if kind == "raised":
        error, trace = value
        error.add_note(f"Raised in the process reading the file, at the {reached} step:\n{trace}")
        raise error
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_CRASHED:
        raise RuntimeError(f"The process reading the file failed at the {reached} step.")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        raise pipeline.Unreadable(
            reached, f"{TOO_SLOW}: reading the file used more than {timeout:g} seconds of CPU."
        )
    # Out of memory: a MemoryError reported, or a library's allocator that gave up and
    # ended the process (PDFium aborts or traps), which under the limit is what happens.
    how = "" if kind == "memory" else f" (the process reading it ended: {_describe(status)})"
    raise pipeline.Unreadable(
        reached,
        f"{TOO_LARGE}: reading the file needed more than the {memory_mb} MB of memory a "
        f"document may use (at the {reached} step){how}. It is probably built to inflate "
        "(a decompression bomb); if it is a real document, save it smaller or as another "
        "format.",
    )


def _warn_not_isolated() -> None:
    global _warned_not_isolated
    if not _warned_not_isolated:
        _warned_not_isolated = True
        logger.warning("documents_not_isolated", reason="no os.fork or RLIMIT_AS here")
