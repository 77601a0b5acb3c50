"""Writing a file whole or not at all: CLI outputs, batch outputs and manifests, server job state,
the URL cache all go through `write_atomic`."""

from __future__ import annotations

import os
import secrets
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
    a dot and ends with `suffix`, so leftovers of a killed run can be found."""
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
