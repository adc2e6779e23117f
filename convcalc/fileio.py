"""Reading and writing the files a command names: bounded reads, outputs whole or not at all.

Reading (`read_bounded`, `parse_json`). A spec, a baseline or a profile given by path is read
up to a size limit, never waiting forever: a regular file is read; a FIFO (named pipe) is read
like a pipe once its writer is there, and refused when no writer comes within
`limits.FIFO_WAIT_S` seconds; a descriptor this process holds (`/dev/stdin`, `/dev/fd/N`, what
`<(cmd)` passes) is read as it is; a directory, device or socket is refused before any read (a
device such as /dev/zero never ends). Every JSON file convcalc reads goes through `parse_json`:
size, UTF-8 and nesting limits give one line, never a RecursionError.

Writing (`check_output`, `write_atomic`). One rule for every output option of every command:

- a regular file or a new name is written atomically: to a temporary file in the target's
  folder, flushed to disk, then renamed over the target. A failure at any point (a full disk, a
  file-size limit, SIGINT, SIGTERM, SIGHUP, SIGQUIT) leaves the old file as it was and removes the
  temporary one; a reader sees the old file or the new one, never a half-written one;
- a character device or a FIFO (`-o /dev/null`, `-o /dev/stdout`, `-o >(gzip > x.gz)`) is a
  stream: opened and written, never replaced;
- a directory, socket, block device or any other special file is refused in one line;
- no output may be one of the command's inputs (the same file by name, symbolic or hard link).

A symbolic link as the target is followed: the file it points to is replaced (atomically, in that
file's folder) and the link stays a link, so a baseline kept elsewhere and linked into a project
is updated where it lives. The new file keeps the old one's permission bits.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from typing import Any, Callable, Iterable

from . import limits

# Paths that name a descriptor this process already holds (`convcalc shapes /dev/stdin < x`,
# `convcalc shapes <(make-spec)`, `-o /dev/stdout`): its other end, if any, is already there.
_OWN_DESCRIPTOR = re.compile(r"/dev/(stdin|stdout|stderr|fd/[0-9]+)\Z|/proc/self/fd/[0-9]+\Z")
_STANDARD = {"stdin": 0, "stdout": 1, "stderr": 2}


class NotAFile(OSError):
    """A path that cannot be read or written as a file; `kind` says what it is ('a directory',
    'a socket', 'a FIFO with no writer ...'), and str() and strerror say 'is KIND, not a file'."""

    def __init__(self, kind: str) -> None:
        super().__init__(errno.EINVAL, f"is {kind}, not a file")
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words: 'a directory', 'a FIFO (named pipe)', ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def own_descriptor(path: str) -> int | None:
    """The descriptor number a path such as /dev/stdout or /dev/fd/3 names, else None."""
    match = _OWN_DESCRIPTOR.match(path)
    if not match:
        return None
    name = path.rsplit("/", 1)[1]
    return _STANDARD.get(name, int(name) if name.isdigit() else -1)


# -- reading ---------------------------------------------------------------------------------------


def read_bounded(path: str, limit: int) -> bytes:
    """The first `limit` + 1 bytes of the file at `path` (one more than allowed, so the caller can
    say it is too large). NotAFile for a directory, device, socket, or a FIFO whose writer does
    not come; FileNotFoundError and other OSErrors as they are."""
    if own_descriptor(path) is not None:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise NotAFile("a directory")
        with open(path, "rb") as handle:  # the writer of a pipe we hold is there, or gone: it ends
            return handle.read(limit + 1)
    mode = os.stat(path).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise NotAFile(kind_of(mode))  # before opening: a device may never end
    # Non-blocking, so that opening a FIFO does not wait for a writer; looked at again once open,
    # in case something else was swapped in after the stat.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode):
            return _read_fifo(fd, limit)
        if not stat.S_ISREG(mode):
            raise NotAFile(kind_of(mode))
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            return handle.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)


def _read_fifo(fd: int, limit: int) -> bytes:
    """A FIFO opened non-blocking, read once its writer is there: until the writer closes it or
    `limit` + 1 bytes came. Until a writer has opened it, poll() reports nothing and read() says
    end of file; a writer that opened it and writes nothing yet makes read() say 'try again'."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    wait = float(limits.FIFO_WAIT_S)
    deadline = time.monotonic() + wait
    while not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
        if time.monotonic() < deadline:
            continue  # woken early (a signal): wait the rest
        try:
            first = os.read(fd, limit + 1)
        except BlockingIOError:
            break  # a writer holds it open and has not written yet: wait for it
        if not first:
            raise NotAFile(f"a FIFO with no writer (none came in {wait:g} seconds)")
        break
    os.set_blocking(fd, True)
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_json(data: bytes, path: str, what: str, limit: int, expected: str = "JSON convcalc reads",
               object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """JSON bytes (a UTF-8 byte order mark allowed) as Python values; UsageError naming `path`
    and `what` ('baseline', '--profile') when they are over `limit` bytes, not UTF-8, not JSON,
    or nested or numbered beyond what Python's parser takes (its RecursionError and digit limit)."""
    import json

    from .errors import UsageError

    if len(data) > limit:
        raise UsageError(f"{what} is larger than the limit of {limit} bytes", file=path)
    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=object_pairs_hook)
    except UnicodeDecodeError:
        raise UsageError(f"{what} is not UTF-8 text", file=path) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    except (ValueError, RecursionError):  # a number beyond Python's digit limit; absurd nesting
        raise UsageError(f"{what} is not {expected} (numbers too long or nesting too deep)",
                         file=path) from None


# -- writing ---------------------------------------------------------------------------------------


def target_kind(path: str) -> str:
    """How the rule writes `path`: 'new' or 'file' (atomically) or 'stream' (opened and written);
    NotAFile for a directory, socket, block device or other special file."""
    if own_descriptor(path) is not None:
        return "stream"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "new"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    raise NotAFile(kind_of(mode))


def check_output(path: str, option: str, inputs: Iterable[str] = ()) -> str:
    """Refuse, before any work, an output `path` the rule cannot write (UsageError, one line
    `OPTION PATH: why`): an empty name, a folder, a socket or other special file, a new name in a
    folder that is missing or not writable, or one of `inputs` (the spec files, --profile...).
    Returns target_kind's answer."""
    from .errors import UsageError
    from .printable import clean

    where = f"{option} {clean(path)}"
    if not path:
        raise UsageError(f"{option} needs a file name, got ''")
    if path.endswith(tuple(filter(None, (os.sep, os.altsep)))):
        raise UsageError(f"{where}: is a folder name; give a file name")
    try:
        kind = target_kind(path)
    except NotAFile as exc:
        raise UsageError(f"{where}: {'is a folder, not a file' if exc.kind == 'a directory' else exc.strerror}") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot write it: {exc.strerror or exc}") from None
    for source in inputs:
        if source and same_file(path, source):
            raise UsageError(f"{where}: is the input {clean(source)}; writing it would destroy the input")
    if kind != "stream":
        folder = os.path.dirname(os.path.realpath(path)) if kind == "file" else os.path.dirname(path) or "."
        if kind == "new" and os.path.islink(path):
            folder = os.path.dirname(os.path.realpath(path))  # a dangling link creates what it names
        if not os.path.isdir(folder):
            raise UsageError(f"{where}: there is no folder {clean(folder)}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"{where}: the folder {clean(folder)} is not writable")
    return kind


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (through symbolic or hard links); False when either is missing."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` by the rule: a regular file or new name replaced in
    one rename, a device or FIFO written as a stream; OSError on failure (NotAFile for a target
    the rule refuses), the old file untouched."""
    name = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not name:
        raise NotAFile("an empty name")
    if target_kind(name) == "stream":
        _write_stream(name, payload)
        return
    target = os.path.realpath(name)
    folder = os.path.dirname(target) or "."
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    import tempfile

    with _Signalled():  # SIGTERM, SIGHUP, SIGQUIT: remove the temporary file, then end as they would
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    try:  # make the rename itself durable; not every file system lets a folder be opened
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _write_stream(path: str, payload: bytes) -> None:
    """Write to a device or FIFO, or to a descriptor this process holds, without replacing it. A
    FIFO with no reader is waited on for limits.FIFO_WAIT_S seconds, then refused."""
    import sys

    number = own_descriptor(path)
    if number is not None:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        _write_all(number, payload)
        return
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    wait = float(limits.FIFO_WAIT_S)
    deadline = time.monotonic() + wait
    while True:
        try:
            # non-blocking: opening a FIFO to write would otherwise wait for a reader forever
            fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0))
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise NotAFile(f"a FIFO with no reader (none came in {wait:g} seconds)") from None
            time.sleep(0.05)
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
            raise NotAFile(kind_of(mode))  # swapped since the stat: never write into it
        os.set_blocking(fd, True)
        _write_all(fd, payload)
    finally:
        os.close(fd)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


class _Signalled:
    """The signal that ended a write, to be delivered again once the temporary file is gone."""

    def __init__(self) -> None:
        self.number: int | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "_Signalled":
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers; it is the one signals reach
        for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):
            number = getattr(signal, name, None)
            if number is None:
                continue
            previous = signal.getsignal(number)
            if previous in (signal.SIG_IGN, None):
                continue  # ignored (nohup) stays ignored; None: set outside Python, leave it
            self.previous[number] = previous
            signal.signal(number, self._handler)
        return self

    def _handler(self, number: int, frame: Any) -> None:
        self.number = number
        raise _Interrupted(number)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        import signal

        for number, previous in self.previous.items():
            signal.signal(number, previous)
        if isinstance(value, _Interrupted):
            self.deliver()  # the temporary file is gone: end as the signal would have
            raise SystemExit(128 + value.number)  # a handler of the caller's that did not end it
        return False

    def deliver(self) -> None:
        """Send the signal that came again, now to the handler that was there before."""
        if self.number is not None:
            number, self.number = self.number, None
            os.kill(os.getpid(), number)


class _Interrupted(BaseException):
    """A terminating signal during a write, raised so that the temporary file is removed."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number
