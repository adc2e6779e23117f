"""Writing files so that nothing is lost: whole or not at all.

`write_atomic` writes to a temporary file in the target's folder, flushes it to disk, and renames
it over the target. A failure at any point (a full disk, a file-size limit, an interrupt) leaves
the old file as it was and removes the temporary one; a reader sees the old file or the new one,
never a half-written one; two writers at once leave one whole file, the last renamed.

A symbolic link as the target is followed: the file it points to is replaced (atomically, in that
file's folder) and the link stays a link, so a baseline kept elsewhere and linked into a project
is updated where it lives. The new file keeps the old one's permission bits.
"""

from __future__ import annotations

import os
import stat
import tempfile


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Replace `path` by `data` (text is written as UTF-8) in one rename; OSError on failure."""
    target = os.path.realpath(os.fspath(path))
    folder = os.path.dirname(target) or "."
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
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
