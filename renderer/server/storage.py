"""Operator-named output folders for batch jobs: `storage://NAME/sub/path/` in, a folder out.

The operator maps names to folders (`--storage cards=/srv/cards`, config `"storage"`); a request
names only `storage://cards/2026/og/`, never a server path. A location is refused when its name is
unknown, when its path is absolute, holds `..`, `.`, an empty segment, a segment starting with
`.` (hidden files, and this module's own records), a backslash or a control character, or when the
folder it resolves to (symlinks followed) is not inside the named one. The check runs when the job
is submitted and again before each file is written, so a symlink planted in between cannot lead a
write out of the folder. Files are written beside their target and renamed into place
(`renderer.files.write_atomic`), so a reader never sees half a file.

No file is replaced silently, and no key replaces another's (issue 11: key B's batch overwrote the
logo key A's batch had written). Each file a job writes is recorded as that key's, in
`DIR/.renderer-owners/` (one small record per file, named by a hash of its path, folder mode
0700; the owner is a digest of the key's digest, never the key). Writing to a path:

- no file there: written, and the writing key becomes its owner;
- a file this key wrote: replaced only when the request says `"overwrite": true`;
- a file another key wrote, or one no key wrote (the operator's, another program's, or one
  written before this rule existed): never replaced, whatever the request says.

A refused file is that item's error (`Not written`, naming the rule); the other items go on. The
check and the write happen under an exclusive `flock` of the record, so two jobs racing for one
new path cannot both win, across server processes on one machine (not across machines sharing
the folder over NFS). The record is written before the file, so a crash between the two leaves a
record whose file is missing, which any key may then claim.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from renderer.files import write_atomic

__all__ = ["SCHEME", "Location", "Storage", "StorageRefused", "safe_relative"]

SCHEME = "storage://"
OWNERS = ".renderer-owners"  # inside each storage folder: who wrote which file
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_TEMP_SUFFIX = ".renderer-tmp"


class StorageRefused(ValueError):
    """A storage location or file name the server will not write to; the message says why."""


@dataclass(frozen=True, slots=True)
class Location:
    """A checked storage location: `url` as the client wrote it (normalised), `folder` on disk."""

    name: str
    sub: PurePosixPath  # relative, checked
    folder: Path  # the named folder, resolved

    @property
    def url(self) -> str:
        sub = self.sub.as_posix()
        return f"{SCHEME}{self.name}/" + ("" if sub == "." else f"{sub}/")

    def file_url(self, rel: str) -> str:
        return self.url + rel

    def target(self, rel: str) -> Path:
        """The file `rel` (a checked relative name) inside this location; re-checks symlinks."""
        path = self.folder / self.sub / rel
        if not path.parent.resolve().is_relative_to(self.folder):
            msg = f"{self.file_url(rel)} leads outside the storage folder"
            raise StorageRefused(msg)
        return path

    def write(self, rel: str, data: bytes, *, bucket: str, overwrite: bool) -> None:
        """Write the file `rel` for the key whose rate-limit identity is `bucket`, by the rules
        in the module docstring; `StorageRefused` says which one refused it."""
        key = (self.sub / rel).as_posix()
        owner = hashlib.sha256(b"renderer storage owner\0" + bucket.encode()).hexdigest()
        with self._record(key) as record:
            path = self.target(rel)
            if os.path.lexists(path):
                current = _owner(record, key)
                if current != owner:
                    msg = (
                        f"{self.file_url(rel)} already exists and was not written by this key; "
                        "it is never replaced"
                    )
                    raise StorageRefused(msg)
                if not overwrite:
                    msg = (
                        f'{self.file_url(rel)} already exists; send "overwrite": true to replace it'
                    )
                    raise StorageRefused(msg)
            line = json.dumps({"path": key, "owner": owner}).encode()
            os.ftruncate(record, 0)
            os.pwrite(record, line, 0)
            write_atomic(path, data, suffix=_TEMP_SUFFIX, parents=True)

    @contextlib.contextmanager
    def _record(self, key: str) -> Iterator[int]:
        """The owner record of `key`, opened and locked (exclusive) for the block."""
        folder = self.folder / OWNERS
        folder.mkdir(mode=0o700, exist_ok=True)
        name = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(folder / name, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # releases the lock


def _owner(record: int, key: str) -> str | None:
    """The owner a record names for `key`, or None (empty, torn, or another path's)."""
    try:
        raw = json.loads(os.pread(record, 4096, 0) or b"null")
    except ValueError:
        return None
    if isinstance(raw, dict) and raw.get("path") == key and isinstance(raw.get("owner"), str):
        return str(raw["owner"])
    return None


def safe_relative(text: str, what: str) -> PurePosixPath:
    """`text` as a relative POSIX path with no `..`, `.`, empty segment or control character."""
    if not text or _BAD_CHARS.search(text) or text.startswith("/"):
        msg = f"{what} must be a relative path without backslashes or control characters"
        raise StorageRefused(msg)
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts) or any(len(p) > 255 for p in parts):
        msg = f"{what} may not contain '..', '.', empty segments ('//') or names over 255 bytes"
        raise StorageRefused(msg)
    if any(p.startswith(".") for p in parts):
        msg = f"{what} may not contain names starting with '.' (hidden files)"
        raise StorageRefused(msg)
    return PurePosixPath(text)


class Storage:
    """The operator's named folders."""

    def __init__(self, folders: Mapping[str, str]) -> None:
        self.folders = {name: Path(folder).resolve() for name, folder in folders.items()}

    def locate(self, url: str) -> Location:
        """The checked location of `storage://NAME/sub/path/`, or `StorageRefused`."""
        if not url.startswith(SCHEME):
            msg = f"Expected storage://NAME/path/. Received: {url[:100]!r}."
            raise StorageRefused(msg)
        name, _, sub = url[len(SCHEME) :].partition("/")
        if name not in self.folders:
            known = ", ".join(sorted(self.folders)) or "none are configured"
            msg = f"Unknown storage {name[:64]!r}. Known: {known}."
            raise StorageRefused(msg)
        sub = sub.removesuffix("/")
        rel = safe_relative(sub, "The storage path") if sub else PurePosixPath(".")
        location = Location(name, rel, self.folders[name])
        resolved = (location.folder / rel).resolve()
        if not resolved.is_relative_to(location.folder):
            msg = f"{location.url} leads outside the storage folder"
            raise StorageRefused(msg)
        return location
