"""The README is part of the product: its spec reference, commands and examples must stay true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renderer.docs import spec_reference, update_readme

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_spec_reference_matches_schema() -> None:
    assert spec_reference() in README, "run: python -m renderer.docs --write README.md"
    assert update_readme(README) == README


def test_every_schema_property_is_documented() -> None:
    from renderer.spec import schema

    s = schema()
    for kind in ("text", "image", "tag", "divider"):
        for prop in s["$defs"][kind]["properties"]:
            if prop != "type":
                assert f"| `{prop}` |" in README, (kind, prop)


def test_images_in_readme_exist() -> None:
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (ROOT / target).is_file(), target


def test_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'python3 -m pip install -e ".[dev]" && python3 -m pytest' in README
    assert 'python3 -m pip install -q -e ".[dev]"' in ci
    assert "python3 -m pytest" in ci


def test_console_script_declared() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["scripts"]["renderer"] == "renderer.cli:main"
    assert project["requires-python"] == ">=3.10"
