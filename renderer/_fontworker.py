"""Font worker: untrusted font bytes in, plain sfnt bytes out, in its own bounded process.

Invoked by `renderer.fontfiles` as `python -I _fontworker.py MODE MAX_OUT MEMORY SECONDS` with the
font on stdin. It caps its own address space, CPU time and file size before it reads a byte, then

- `sanitize`: runs the OpenType Sanitizer (`ots-sanitize`, the sanitizer browsers run on web
  fonts; it decodes WOFF and WOFF2 itself and inherits these limits) and returns its output;
- `decode`: decodes a WOFF or WOFF2 file of the operator's to sfnt with fontTools.

The result goes to stdout; any failure is one line on stderr and exit status 1. The parent kills
the process at its deadline, so a decompression bomb costs at most that long and the memory cap.

This file imports nothing from `renderer`, so it starts fast and cannot reach the parent's state.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def _limit(memory: int, seconds: int, max_out: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_out + (1 << 20), max_out + (1 << 20)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _faces(data: bytes) -> int:
    """How many faces the font holds (a collection lists them; OTS sanitizes one at a time)."""
    if data[:4] != b"ttcf" or len(data) < 12:
        return 1
    return int.from_bytes(data[8:12], "big")


def _sanitize(data: bytes, seconds: int) -> bytes:
    """Each face through `ots-sanitize`, as one sfnt each, framed: a 4-byte count, then each
    face's 4-byte length and bytes."""
    import ots

    out = bytearray()
    count = _faces(data)
    out += count.to_bytes(4, "big")
    with tempfile.TemporaryDirectory(prefix="renderer-font-") as work:
        source, target = Path(work) / "in", Path(work) / "out"
        source.write_bytes(data)
        for index in range(count):
            argv = [ots.OTS_SANITIZE, str(source), str(target)]
            done = subprocess.run(  # fixed argv, no shell
                argv + ([str(index)] if count > 1 else []),
                capture_output=True,
                timeout=seconds,
                check=False,
            )
            if done.returncode != 0 or not target.is_file():
                text = (done.stderr + done.stdout).decode("utf-8", "replace").strip()
                lines = text.splitlines()
                why = next(
                    (ln for ln in lines if ln.startswith("ERROR")), lines[0] if lines else ""
                )
                why = why.removeprefix("ERROR: ").strip() or f"status {done.returncode}"
                msg = f"the OpenType Sanitizer refused it ({why})"
                raise ValueError(msg)
            face = target.read_bytes()
            out += len(face).to_bytes(4, "big") + face
            target.unlink()
    return bytes(out)


def _decode(data: bytes) -> bytes:
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data), lazy=False, recalcBBoxes=False, recalcTimestamp=False)
    font.flavor = None
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()


def main(argv: list[str]) -> int:
    mode, max_out, memory, seconds = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    _limit(memory, seconds, max_out)
    try:
        data = sys.stdin.buffer.read()
        result = _sanitize(data, seconds) if mode == "sanitize" else _decode(data)
        if len(result) > max_out:
            msg = f"it decodes to more than {max_out} bytes"
            raise ValueError(msg)
        sys.stdout.buffer.write(result)
    except MemoryError:
        sys.stderr.write("it needs more memory than allowed to decode\n")
        return 1
    except subprocess.TimeoutExpired:
        sys.stderr.write("the OpenType Sanitizer took too long\n")
        return 1
    except Exception as e:  # report any parse failure as one line
        sys.stderr.write(f"{e}"[:300].replace("\n", " ") + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
