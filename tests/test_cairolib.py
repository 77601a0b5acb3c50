"""cairocffi's declarations, pre-parsed (`renderer.cairolib`): current, used, and the same cairo."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from renderer import cairolib

HERE = Path(cairolib.__file__).resolve().parent
REGENERATE = "run `python -c 'from renderer import cairolib; cairolib.write()'` and commit "
REGENERATE += "renderer/_cairo_cdefs.py and renderer/_cairo_pixbuf_cdefs.py"


def _fresh(code: str) -> str:
    """`code`'s stdout in a new interpreter (this one imported cairocffi long ago)."""
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout


def _fails(call: Callable[[], object]) -> bool:
    try:
        call()
    except Exception:  # cffi's own error class is not importable by name
        return True
    return False


def test_tables_describe_the_installed_cairocffi() -> None:
    # An upgraded cairocffi changes its declarations: the tables would silently stop being used
    # (a slower start, nothing wrong), so the suite says so instead.
    from renderer import _cairo_cdefs

    assert _cairo_cdefs.DIGEST == cairolib.declarations_digest(), REGENERATE


def test_tables_declare_what_cairocffi_parses() -> None:
    # Every function cairocffi declares has the same C type through the tables, and every
    # named type the same size, as cffi gives parsing cairocffi's own declarations.
    from cffi import FFI

    from renderer import _cairo_cdefs

    headers = sys.modules["cairocffi.constants"]._CAIRO_HEADERS
    parsed = FFI()
    parsed.cdef(headers)
    ours = _cairo_cdefs.ffi
    own_lib, our_lib = parsed.dlopen("libcairo.so.2"), ours.dlopen("libcairo.so.2")
    # cffi spells a type by its typedef when it parsed one, by its struct when it loaded tables
    # ("cairo_path_t *" against "struct cairo_path *"): compare spelled the same way.
    names = sorted(set(re.findall(r"\b(cairo(?:_\w+)?_t)\b", headers)))
    spelled = {parsed.typeof(n).cname: ours.typeof(n).cname for n in names}
    typedef = re.compile(r"\b(" + "|".join(map(re.escape, spelled)) + r")(?![\w])")

    def respelled(cname: str) -> str:
        return typedef.sub(lambda m: spelled[m.group(1)], cname)

    functions = sorted(set(re.findall(r"\b(cairo_\w+)\s*\(", headers)))
    assert len(functions) > 300
    for name in functions:
        try:
            own = parsed.typeof(getattr(own_lib, name)).cname
        except AttributeError:  # not in this libcairo: not through the tables either
            assert _fails(functools.partial(getattr, our_lib, name)), name
            continue
        assert ours.typeof(getattr(our_lib, name)).cname == respelled(own), name
    for name in names:
        try:
            size = parsed.sizeof(name)
        except Exception:  # an opaque struct: no size either way
            assert _fails(functools.partial(ours.sizeof, name)), name
            continue
        assert ours.sizeof(name) == size, name


def test_import_uses_the_tables_and_asks_no_ldconfig() -> None:
    probe = (
        "import sys, ctypes.util, subprocess\n"
        "runs = []\n"
        "real = subprocess.Popen.__init__\n"
        "def spy(self, *a, **k):\n"
        "    runs.append(str(a[0] if a else k.get('args')))\n"
        "    real(self, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "import renderer.raster, cairocffi, json\n"
        "print(json.dumps({'preparsed': getattr(sys.modules['cairocffi.ffi'], 'PREPARSED', False),"
        " 'pycparser': 'pycparser' in sys.modules, 'runs': runs,"
        " 'find_library': cairocffi.find_library is ctypes.util.find_library,"
        " 'version': cairocffi.cairo_version()}))\n"
    )
    seen = json.loads(_fresh(probe))
    assert seen["preparsed"] is True, REGENERATE
    assert seen["pycparser"] is False  # nothing parsed C at start-up
    if sys.platform.startswith("linux"):
        assert seen["runs"] == []  # no ldconfig, no gcc
    assert seen["find_library"] is True  # put back for anyone who asks later
    assert seen["version"] >= 11600


def test_same_cairo_as_cairocffi_on_its_own() -> None:
    # The library cairocffi finds by itself (find_library, its declarations parsed) is the one
    # opened here by its soname.
    probe = (
        "import sys, json, cairocffi\n"
        "maps = open('/proc/self/maps').read().split()\n"
        "print(json.dumps({'lib': sorted({m for m in maps if 'libcairo.so' in m}),"
        " 'preparsed': hasattr(sys.modules['cairocffi.ffi'], 'PREPARSED')}))\n"
    )
    if not Path("/proc/self/maps").exists():
        pytest.skip("needs /proc")
    own = json.loads(_fresh(probe))
    ours = json.loads(_fresh("import renderer.raster\n" + probe))
    assert own["preparsed"] is False
    assert ours["preparsed"] is True
    assert own["lib"]
    assert own["lib"] == ours["lib"]


def test_pixbuf_declarations_load_on_demand() -> None:
    seen = _fresh(
        "import sys, renderer.raster, cairocffi\n"
        "before = 'renderer._cairo_pixbuf_cdefs' in sys.modules\n"
        "from cairocffi.ffi import ffi_pixbuf, ffi\n"
        "p = ffi_pixbuf.new('GError *')\n"
        "print(before, ffi_pixbuf.typeof('cairo_t *') is ffi.typeof('cairo_t *'))\n"
    )
    assert seen.split() == ["False", "True"]  # loaded when asked; cairo's types are shared


def test_stale_tables_fall_back_to_cairocffis_own_parse() -> None:
    # Tables written from another cairocffi (their digest matches nothing installed): cairocffi
    # parses its own declarations and draws the same bytes.
    card = {
        "width": 120,
        "height": 40,
        "background": "#123456",
        "components": [{"type": "text", "text": "Hi", "fontSize": 20}],
    }
    drawn = _fresh(
        "import sys, types, hashlib\n"
        "stale = types.ModuleType('renderer._cairo_cdefs')\n"
        "stale.DIGEST = 'from another cairocffi'\n"
        "sys.modules['renderer._cairo_cdefs'] = stale\n"
        "import renderer\n"
        f"png = renderer.render({card!r})\n"
        "print(hasattr(sys.modules['cairocffi.ffi'], 'PREPARSED'), 'pycparser' in sys.modules,"
        " hashlib.sha256(png).hexdigest())\n"
    )
    import hashlib

    import renderer

    assert drawn.split() == ["False", "True", hashlib.sha256(renderer.render(card)).hexdigest()]
