"""SVG image sources (logos): untrusted SVG bytes in, a PNG rasterized in a sandbox out.

CairoSVG can be made to spin for tens of seconds, or to allocate gigabytes, by a few KB of SVG
(`<use>` and nested `<pattern>` amplification), so a user's SVG is never parsed in this process.
`rasterize_svg` runs `_svgworker.py` in a fresh interpreter (`python -I`: no environment, no user
site) that caps its own address space and CPU time, resolves no reference but inline `data:`
URLs, and is killed `ImagePolicy.svg_timeout` (1.5 s by default) after it was handed the
document, so a bomb is an error within 2 s of drawing time. The interpreter's own start (about
0.3 s, far more on a loaded machine) is not counted against the document: it has
`_STARTUP_SECONDS` of its own. Documents declaring entities (billion laughs) are refused before a
process is started; compressed `svgz` is not sniffed as SVG, so it is refused as "not an image".

The worker draws the SVG at the size the box needs (cover size of the box in device pixels, or
intrinsic size × scale for `fit: none`), never more than the pixel cap, and returns the intrinsic
size in CSS px so `fit: none` and `contain` can place it like a raster image.
"""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

__all__ = ["SvgRaster", "looks_like_svg", "rasterize_svg"]

_WORKER = Path(__file__).with_name("_svgworker.py")
_SVG_ROOT = re.compile(rb"<svg[\s>/]", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_STARTUP_SECONDS = 30.0  # for the worker to load CairoSVG and say it is ready


@dataclass(frozen=True, slots=True)
class SvgRaster:
    """An SVG image source drawn by the bounded subprocess, with its natural size for `fit`."""

    image: Image.Image  # RGBA, drawn at the requested size
    natural: tuple[float, float]  # CSS px, the SVG's own width and height


def looks_like_svg(data: bytes) -> bool:
    """An XML or SVG document whose first element is `<svg` (after prolog and comments)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith((b"<svg", b"<SVG", b"<?xml", b"<!--", b"<!DOCTYPE", b"<!doctype")):
        return False
    return _SVG_ROOT.search(head) is not None


def _refuse_early(data: bytes) -> None:
    if _ENTITY.search(data):
        msg = "SVG documents declaring entities (<!ENTITY) are refused"
        raise ValueError(msg)


def _await_ready(worker: subprocess.Popen[bytes]) -> None:
    """Wait for the worker's `ready` line (it has loaded CairoSVG) before its deadline starts."""
    assert worker.stdout is not None
    ready, _, _ = select.select([worker.stdout], [], [], _STARTUP_SECONDS)
    line = worker.stdout.readline() if ready else b""
    if line != b"ready\n":
        worker.kill()
        _, err = worker.communicate()
        why = err.decode("utf-8", "replace").strip().splitlines()
        msg = f"the SVG worker did not start: {why[-1] if why else 'no answer'}"
        raise ValueError(msg)


def rasterize_svg(
    data: bytes,
    box: tuple[int, int],
    fit: str,
    scale: float,
    *,
    max_pixels: int,
    timeout: float,
    memory: int,
) -> SvgRaster:
    """Draw untrusted SVG `data` in a bounded subprocess; raise ValueError naming the cause."""
    _refuse_early(data)
    args = [str(box[0]), str(box[1]), fit, repr(scale), str(max_pixels), str(memory)]
    worker = subprocess.Popen(  # fixed argv, our own script, no shell
        [sys.executable, "-I", str(_WORKER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
    )
    try:
        _await_ready(worker)
        out, err = worker.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.communicate()
        msg = (
            f"the SVG took longer than {timeout:g} s to draw (ImagePolicy.svg_timeout); "
            "it may be an amplification bomb"
        )
        raise ValueError(msg) from None
    except BaseException:
        worker.kill()
        worker.communicate()
        raise
    done = subprocess.CompletedProcess(worker.args, worker.returncode, out, err)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = reason[-1] if reason else f"the SVG worker died (signal or status {done.returncode})"
        msg = f"the SVG could not be drawn: {why}"
        raise ValueError(msg)
    head, _, png = done.stdout.partition(b"\n")
    try:
        iw, ih = (float(v) for v in head.split())
        image = PngImagePlugin.PngImageFile(io.BytesIO(png))  # no global bomb check to trip
        w, h = image.size
        if w * h > max_pixels * 1.01 + 16:  # the worker rounds each side to whole pixels
            raise ValueError
        image.load()
    except (ValueError, OSError, SyntaxError):
        msg = "the SVG worker returned an unreadable result"
        raise ValueError(msg) from None
    return SvgRaster(image.convert("RGBA"), (iw, ih))
