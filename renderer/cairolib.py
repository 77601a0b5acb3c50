"""cairocffi with its C declarations read from tables parsed ahead of time, not at every start.

cairocffi declares cairo's API to cffi in "in-line ABI" mode: each time it is imported, cffi
parses about 1,000 C declarations with pycparser, 90–160 ms on this project's machines, about
a fifth of a `renderer render` run from a cold start. cffi's "out-of-line ABI" mode parses them once
and writes the resulting type tables as a Python module; loading that takes about a
millisecond and gives the same `ffi` (the same types, the same `dlopen` of the same libcairo).
The tables for the installed cairocffi are `_cairo_cdefs.py` and `_cairo_pixbuf_cdefs.py`
(its GdkPixbuf declarations, loaded only if `cairocffi.pixbuf` is imported), written by
`python -c "from renderer import cairolib; cairolib.write()"`.

`preload()` installs them as `cairocffi.ffi` before cairocffi itself is imported, and only
while they describe the cairocffi that is installed: the SHA-256 of its `ffi.py` and
`constants.py` must be the one the tables were written from, and xcffib (whose XCB
declarations cairocffi would add) must be absent. Otherwise, or if the cffi backend refuses
the tables, cairocffi parses its declarations itself, as it always has: slower, never wrong.
`tests/test_cairolib.py` fails when the tables are stale, so an upgrade of cairocffi is noticed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import types
from pathlib import Path

__all__ = ["cairocffi", "declarations_digest", "generate", "preload", "write"]

_TABLES = "renderer._cairo_cdefs"
_PIXBUF_TABLES = "renderer._cairo_pixbuf_cdefs"
_HERE = Path(__file__).resolve().parent


def _cairocffi_folder() -> Path | None:
    spec = importlib.util.find_spec("cairocffi")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def declarations_digest(folder: Path | None = None) -> str | None:
    """SHA-256 of the installed cairocffi's `ffi.py` and `constants.py`: the files its
    declarations come from (None when cairocffi is not installed)."""
    folder = folder or _cairocffi_folder()
    if folder is None:
        return None
    digest = hashlib.sha256()
    for name in ("ffi.py", "constants.py"):
        try:
            digest.update((folder / name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def preload() -> bool:
    """Make `import cairocffi` use the pre-parsed tables (on Linux, import it now); True when
    it does. Does nothing once cairocffi is imported the usual way."""
    loaded = sys.modules.get("cairocffi.ffi")
    if loaded is not None:
        return getattr(loaded, "PREPARSED", False) is True
    if "cairocffi" in sys.modules or importlib.util.find_spec("xcffib") is not None:
        return False
    try:
        from . import _cairo_cdefs as tables

        if tables.DIGEST != declarations_digest():
            return False
    except Exception:  # a cffi backend that refuses the tables: cairocffi's own way, as before
        return False
    module = types.ModuleType("cairocffi.ffi", "cairocffi's declarations, pre-parsed")
    module.ffi = tables.ffi  # type: ignore[attr-defined]
    module.PREPARSED = True  # type: ignore[attr-defined]
    module.__getattr__ = _pixbuf  # type: ignore[method-assign]
    sys.modules["cairocffi.ffi"] = module
    return _import_by_soname() if sys.platform.startswith("linux") else True


def _import_by_soname() -> bool:
    """Import cairocffi with libcairo opened by its soname. cairocffi first asks
    `ctypes.util.find_library` for three names, which on Linux runs `ldconfig -p` and then gcc
    for the two that are not found: 40 ms of a cold start. On Linux it would answer
    `libcairo.so.2`, the name cairocffi opens anyway when it answers nothing, so here it
    answers nothing for those names. If libcairo.so.2 does not open that way, cairocffi is
    imported again with its own search, declarations included."""
    import ctypes.util

    ask = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return None if name in _CAIRO_NAMES else ask(name)

    ctypes.util.find_library = find_library
    try:
        import cairocffi
    except OSError:
        for name in [n for n in sys.modules if n == "cairocffi" or n.startswith("cairocffi.")]:
            del sys.modules[name]
        return False
    finally:
        ctypes.util.find_library = ask
    cairocffi.find_library = ask  # bound at its import: later lookups (pixbuf) ask as before
    return True


_CAIRO_NAMES = frozenset({"cairo-2", "cairo", "libcairo-2"})  # cairocffi's names for libcairo


def _pixbuf(name: str) -> object:
    """`cairocffi.ffi.ffi_pixbuf`, loaded when `cairocffi.pixbuf` first asks for it."""
    if name == "ffi_pixbuf":
        from . import _cairo_pixbuf_cdefs

        return _cairo_pixbuf_cdefs.ffi
    msg = f"module 'cairocffi.ffi' has no attribute {name!r}"
    raise AttributeError(msg)


def generate(folder: Path | None = None) -> dict[str, str]:
    """The two table modules' source for the installed cairocffi, by file name (what
    `write` writes). Parses the declarations: imports cairocffi."""
    import contextlib
    import io
    import tempfile

    from cffi import FFI

    folder = folder or _cairocffi_folder()
    digest = declarations_digest(folder)
    if folder is None or digest is None:
        msg = "cairocffi is not installed"
        raise RuntimeError(msg)
    constants = _module_from(folder / "constants.py", "_cairocffi_constants")
    pixbuf_source = (folder / "ffi.py").read_text(encoding="utf-8")
    pixbuf_cdef = pixbuf_source.split("ffi_pixbuf.cdef('''", 1)[1].split("''')", 1)[0]
    cairo = FFI()
    cairo.set_source(_TABLES, None)
    cairo.cdef(constants._CAIRO_HEADERS)
    pixbuf = FFI()
    pixbuf.include(cairo)
    pixbuf.set_source(_PIXBUF_TABLES, None)
    pixbuf.cdef(pixbuf_cdef)
    header = (  # ruff skips these files (pyproject.toml); mypy is told here
        "# Written by renderer.cairolib.write() from cairocffi's declarations; do not edit.\n"
        "# mypy: ignore-errors\n"
        f'DIGEST = "{digest}"  # SHA-256 of cairocffi/ffi.py and constants.py\n'
    )
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ffi, name in ((cairo, "_cairo_cdefs.py"), (pixbuf, "_cairo_pixbuf_cdefs.py")):
            path = Path(tmp) / name
            with contextlib.redirect_stdout(io.StringIO()):  # cffi says "generating ..."
                ffi.emit_python_code(str(path))
            out[name] = header + path.read_text(encoding="utf-8")
    return out


def _module_from(path: Path, name: str) -> types.ModuleType:
    """A module run from `path` without importing its package (cairocffi's `__init__` would
    parse the declarations this is about to parse)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write() -> None:
    """Rewrite the tables for the installed cairocffi (a function, not `python -m`: the
    painter imports this module, so runpy could run it a second time)."""
    for file_name, text in generate().items():
        (_HERE / file_name).write_text(text, encoding="utf-8")
        print(f"wrote {_HERE / file_name}")


# On import, before cairocffi is: renderer's modules take cairocffi from here, never by
# importing it themselves, so no import order can leave a render parsing the declarations.
preload()
import cairocffi  # noqa: E402
