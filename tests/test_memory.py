"""`renderer.memory`: the allocators are tuned on the first render, and only when the program
has not said what it wants (each case in a fresh interpreter: the settings are process-wide)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_CODE = (
    "import json; from PIL import Image; from renderer import render, memory; "
    "before = memory._tuned; "
    "render({'width': 64, 'height': 64, 'components': [{'type': 'divider', 'length': 10}]}); "
    "print(json.dumps([before, memory.tune(), Image.core.get_blocks_max()]))"
)
_ENV = ("RENDERER_MEMORY", "PILLOW_BLOCKS_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def _run(**env: str) -> list[object]:
    environ = {k: v for k, v in os.environ.items() if k not in _ENV} | env
    out = subprocess.run(
        [sys.executable, "-c", _CODE], env=environ, capture_output=True, text=True, check=True
    )
    result: list[object] = json.loads(out.stdout)
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_first_render_tunes_glibc_and_pillow() -> None:
    before, tuned, blocks = _run()
    assert before is None  # importing changed nothing
    assert tuned == {"glibc": True, "pillow": True}
    assert blocks == 4


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MALLOC_TRIM_THRESHOLD_": "131072"}, {"glibc": False, "pillow": True}),
        ({"MALLOC_MMAP_THRESHOLD_": "131072"}, {"glibc": False, "pillow": True}),
        ({"PILLOW_BLOCKS_MAX": "2"}, {"glibc": True, "pillow": False}),
        ({"RENDERER_MEMORY": "default"}, {"glibc": False, "pillow": False}),
    ],
)
def test_what_the_program_set_is_left_alone(env: dict[str, str], expected: dict[str, bool]) -> None:
    if not sys.platform.startswith("linux"):
        expected = {**expected, "glibc": False}
    _, tuned, blocks = _run(**env)
    assert tuned == expected
    assert blocks == (4 if expected["pillow"] else int(env.get("PILLOW_BLOCKS_MAX", "0")))


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_held_off_while_loading_and_left_as_it_was(enabled: bool) -> None:
    """Importing the package (its drawing modules come with the API's first name) and
    reading the font manifest run with the cycle collector
    paused (nothing they build is garbage), and leave it as the program had it, on or off.
    Unpaused, the import ran 83 collections here and the manifest 61, a full one among them;
    paused, only what runs before the pause is reached (compiling `renderer/__init__.py`)."""
    code = (
        "import gc, json; "
        f"gc.enable() if {enabled} else gc.disable(); "
        "before = [s['collections'] for s in gc.get_stats()]; "
        "import renderer; renderer.render; "
        "imported = [s['collections'] for s in gc.get_stats()]; state = [gc.isenabled()]; "
        "renderer.fonts.library(); state.append(gc.isenabled()); "
        "loaded = [s['collections'] for s in gc.get_stats()]; "
        "print(json.dumps([before, imported, loaded, state]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, imported, loaded, state = json.loads(out.stdout)
    assert state == [enabled, enabled]
    collections = [sum(imported) - sum(before), sum(loaded) - sum(imported)]
    assert collections[0] < 15  # the package's import
    assert collections[1] <= 2  # the font manifest read (580 faces, 36,000 ranges)
    assert loaded[2] == before[2]  # no full collection


@pytest.mark.parametrize("frozen_first", [False, True])
def test_what_the_import_built_is_moved_to_the_oldest_generation(frozen_first: bool) -> None:
    """Left in the young generation, the ~60,000 objects of the import were all walked by the
    first young collection after it (21 ms); moved to the oldest, they are not. A program that
    froze objects of its own keeps them frozen: then nothing is moved."""
    code = (
        "import gc, json; "
        f"gc.freeze() if {frozen_first} else None; frozen = gc.get_freeze_count(); "
        "import renderer; renderer.render; "
        "young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1)); "
        "print(json.dumps([frozen, gc.get_freeze_count(), young, len(gc.get_objects(2))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    frozen, frozen_after, young, old = json.loads(out.stdout)
    assert frozen_after >= frozen * 0.9  # not thawed (a few freed by reference counting)
    if frozen_first:
        assert young > 20_000  # left where they were
    else:
        assert young < 2_000
        assert old > 20_000
