"""Writing a file whole or not at all: CLI outputs, batch outputs and manifests, server job state,
the URL cache all go through `write_atomic`."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(
    path: Path,
    data: bytes,
    *,
    suffix: str = ".tmp",
    private: bool = False,
    parents: bool = False,
) -> None:
    """Write `data` beside `path` and rename it into place, so a reader or a killed process
    never sees half a file. The file gets the usual mode under the umask (the kernel applies it:
    no process-wide umask juggling), or owner-only with `private`. `parents` creates missing
    folders; otherwise a missing folder is the caller's OSError. The temporary name starts with
    a dot and ends with `suffix`, so leftovers of a killed run can be found. A path that is
    not a regular file (a device, a pipe) is written to as it is."""
    if parents:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError as e:  # a file where a folder on the way should be
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), e.filename) from e
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # `-o /dev/null`, `/dev/stdout`, a named pipe: nothing to half-write, and renaming
        # over one would replace the device with a regular file
        with open(path, "wb") as f:
            f.write(data)
        return
    # (the name shortened: a name near the file system's 255 bytes must still have a temporary)
    tmp = path.with_name(f".{path.name[:64]}.{secrets.token_hex(6)}{suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
