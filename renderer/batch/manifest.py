"""The incremental record in OUT_DIR: which inputs produced which output file.

Each entry maps an output path (relative to OUT_DIR) to the cache key of the inputs that drew it
and the SHA-256 and size of the file written. An item is skipped when its key is unchanged and its
file is still exactly what was written. The key (`item_key`) hashes the spec (the template as
read), the row's variables, the output options, the bytes of every image file the filled spec
names, the bundled fonts (their manifest and every font file's name and size) and the engine
version, so a new font build or a new release re-renders everything and an edited logo re-renders
the cards that show it.

The file is a journal (`.renderer-manifest.jsonl`): one JSON line appended per written output,
after the file is renamed into place, and a `removed` line before an output with an entry is
replaced. So at any instant, even after SIGKILL, every live entry describes the file on disk; at
worst a file written just before a kill has no entry yet and is drawn again next time. A clean end
rewrites the journal compactly (temporary file and rename). A torn last line is ignored.

The journal also says which files are the batch's own: an output with an entry, and one claimed
(a `claim` line, appended before a new output is handed to a worker; a `removed` line claims
too). A file in OUT_DIR that is neither (yours, or another tool's) is never replaced without
`--force`: `knows()` is what the run asks. A claim outlives compaction while its file exists
without an entry, which is the file a kill left between its rename and its record.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .work import write_atomic

__all__ = ["MANIFEST_NAME", "Entry", "Manifest", "file_digest", "fonts_fingerprint", "item_key"]

MANIFEST_NAME = ".renderer-manifest.jsonl"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Entry:
    output: str  # path relative to OUT_DIR, with / separators
    key: str  # item_key of the inputs
    sha256: str  # of the file as written
    bytes: int
    source: str  # the spec file, for people reading the manifest
    row: str | None  # the data row's label, if any

    def as_record(self) -> dict[str, Any]:
        """The manifest line's fields (dataclasses.asdict deep-copies each one: 40 us a card)."""
        return {
            "output": self.output,
            "key": self.key,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "source": self.source,
            "row": self.row,
        }


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, remembered per (path, size, mtime) for this process."""
    st = path.stat()
    return _digest(str(path), st.st_size, st.st_mtime_ns)


@cache
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def fonts_fingerprint() -> str:
    """A hash of the bundled fonts: the font manifest and each file's name and size."""
    from ..data import data_dir

    root = data_dir("fonts")
    h = hashlib.sha256((root / "manifest.json").read_bytes())
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(f"{p.relative_to(root).as_posix()}:{p.stat().st_size}\n".encode())
    return h.hexdigest()


def item_key(
    spec: Any, row: dict[str, object] | None, options: dict[str, Any], images: dict[str, str]
) -> str:
    """The cache key of one item: everything that can change its output bytes."""
    from .. import __version__

    payload = {
        "engine": __version__,
        "fonts": fonts_fingerprint(),
        "spec": spec,
        "row": row,
        "options": options,
        "images": images,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ManifestError(ValueError):
    """The manifest cannot be used (a symlink, or not a file): the run stops before any work."""


class Manifest:
    """The journal of one OUT_DIR, loaded at the start of a run and appended to as files land."""

    def __init__(self, path: Path) -> None:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            msg = (
                f"{path} is a symbolic link or not a file; a run never writes through it "
                "(remove it, and the next run starts a new manifest)"
            )
            raise ManifestError(msg)
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.claimed: set[str] = set()  # outputs a run may have written without an entry
        self._fd: int | None = None
        try:
            lines = path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            self._apply(line)

    def _apply(self, line: str) -> None:
        try:
            record = json.loads(line)
            if "removed" in record:
                self.entries.pop(record["removed"], None)
                self.claimed.add(record["removed"])
            elif "claim" in record:
                self.claimed.add(record["claim"])
            elif "output" in record:
                self.entries[record["output"]] = Entry(**record)
        except (ValueError, TypeError):
            pass  # a line torn by a kill, or from a future version: its file is redrawn

    def is_fresh(self, output: str, key: str, out_dir: Path) -> bool:
        """True when `output` exists exactly as written for inputs with this `key`."""
        entry = self.entries.get(output)
        if entry is None or entry.key != key:
            return False
        path = out_dir / output
        try:
            return path.stat().st_size == entry.bytes and file_digest(path) == entry.sha256
        except OSError:
            return False

    def knows(self, output: str) -> bool:
        """Whether a file at `output` is one a batch into this folder wrote (or may have)."""
        return output in self.entries or output in self.claimed

    def claim(self, output: str) -> None:
        """Call before a new `output` may be written: a kill before its record then leaves a
        file the next run knows as its own."""
        if output not in self.entries and output not in self.claimed:
            self.claimed.add(output)
            self._append({"claim": output})

    def forget(self, output: str) -> None:
        """Call before replacing `output`: its entry must not outlive the file it describes."""
        if output in self.entries:
            del self.entries[output]
            self.claimed.add(output)
            self._append({"removed": output})

    def record(self, entry: Entry) -> None:
        """Call after `entry.output` is renamed into place."""
        self.entries[entry.output] = entry
        self._append(entry.as_record())

    def _append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a manifest planted as a symlink must not let a run append lines to
            # whatever file it points at, outside OUT_DIR (the open fails: the run reports it).
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            self._fd = os.open(self.path, flags, 0o644)
            if os.fstat(self._fd).st_size == 0:
                os.write(self._fd, _line({"renderer_manifest": _VERSION}))
        # One write() per line on an O_APPEND descriptor: a kill leaves whole lines or a torn
        # last line, never two lines interleaved.
        os.write(self._fd, _line(record))

    def compact(self, out_dir: Path) -> None:
        """Rewrite the journal as one line per entry whose file still exists, and the claims
        on files that exist without one."""
        self.close()
        live = [e for e in self.entries.values() if (out_dir / e.output).is_file()]
        claims = sorted(
            c for c in self.claimed if c not in self.entries and (out_dir / c).is_file()
        )
        text = b"".join(
            [
                _line({"renderer_manifest": _VERSION}),
                *(_line(e.as_record()) for e in live),
                *(_line({"claim": c}) for c in claims),
            ]
        )
        write_atomic(self.path, text)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
