"""Operator-named output folders for batch jobs: `storage://NAME/sub/path/` in, a folder out.

The operator maps names to folders (`--storage cards=/srv/cards`, config `"storage"`); a request
names only `storage://cards/2026/og/`, never a server path. A location is refused when its name is
unknown, when its path is absolute, holds `..`, `.`, an empty segment, a backslash or a control
character, or when the folder it resolves to (symlinks followed) is not inside the named one. The
check runs when the job is submitted and again before each file is written, so a symlink planted
in between cannot lead a write out of the folder. Files are written beside their target and
renamed into place (`renderer.files.write_atomic`), so a reader never sees half a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["SCHEME", "Location", "Storage", "StorageRefused", "safe_relative"]

SCHEME = "storage://"
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


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


def safe_relative(text: str, what: str) -> PurePosixPath:
    """`text` as a relative POSIX path with no `..`, `.`, empty segment or control character."""
    if not text or _BAD_CHARS.search(text) or text.startswith("/"):
        msg = f"{what} must be a relative path without backslashes or control characters"
        raise StorageRefused(msg)
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts) or any(len(p) > 255 for p in parts):
        msg = f"{what} may not contain '..', '.', empty segments ('//') or names over 255 bytes"
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
