"""Shared pytest setup: the `--update-goldens` option and the `golden` fixture.

`golden(case, png)` compares a rendered PNG with `golden_images/<case>.png` (rules and tolerance:
`tests/golden.py`). With `--update-goldens` it rewrites the goldens that are missing or fail and
the run ends with a list of every rewritten path and its size. A case marked `xfail` is never
rewritten: its golden shows the right picture, which the engine cannot draw yet.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fontmaker import ensure_fonts
from golden import GoldenCheck, Tolerance, check_golden

_UPDATED = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="Rewrite golden images that are missing or do not match (saved optimized), "
        "then list them. Look at every rewritten image before committing it.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UPDATED] = []
    ensure_fonts()  # the test fonts the golden cases' `fonts` name (tests/fontmaker.py)
    config.addinivalue_line(
        "markers",
        "golden_tolerance(channel=1, pixels=0, *, reason): widen a golden comparison: a pixel "
        "differs when a channel is off by more than `channel`, and up to `pixels` may differ; "
        "`reason` is required.",
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    updated = terminalreporter.config.stash.get(_UPDATED, [])
    if not updated:
        return
    terminalreporter.section("golden images updated")
    root = terminalreporter.config.rootpath
    for path in updated:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        terminalreporter.write_line(f"{shown}  {path.stat().st_size:,} bytes")
    total = sum(p.stat().st_size for p in updated)
    terminalreporter.write_line(f"{len(updated)} file(s), {total:,} bytes. Look at each one.")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """`golden(case, png)`: fail unless `png` matches `golden_images/<case>.png`."""
    node = request.node
    update = bool(request.config.getoption("--update-goldens"))
    if node.get_closest_marker("xfail") is not None:
        update = False  # a known-wrong rendering must never become the reference
    tolerance = Tolerance.from_marker(node.get_closest_marker("golden_tolerance"))
    updated = request.config.stash[_UPDATED]

    def check(case: str, png: bytes) -> None:
        check_golden(case, png, update=update, tolerance=tolerance, on_update=updated.append)

    return check
