"""`renderer diff` (issue 17): two versions of cards, templates with data, folders, or a path
against itself at a git commit, on real files and a real git repository made by the test.

What a reviewer relies on is checked: the exit code (0 nothing changed, 1 something did, 2 the
comparison could not run), the changed-pixel count (recounted here from the two renders with
plain NumPy), the images in the report (the old and new cards are the engine's bytes, the
difference image is red exactly where pixels changed), unchanged cards listed and not shown.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import renderer
from renderer.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def card(text: str, background: str = "#ffffff", **extra: Any) -> dict[str, Any]:
    return {
        "width": 300,
        "height": 120,
        "background": background,
        "components": [{"type": "text", "text": text, "fontSize": 28, "x": 16, "y": 16} | extra],
    }


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), "utf-8")
    return path


def diff(*args: str | Path) -> int:
    return main(["diff", *(str(a) for a in args)])


def summary(report: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report / "summary.json").read_text("utf-8"))
    return data


def changed_pixels(old: bytes, new: bytes) -> int:
    a = np.asarray(Image.open(io.BytesIO(old)).convert("RGBA"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(new)).convert("RGBA"), dtype=np.int16)
    return int((np.abs(a - b) > 1).any(axis=-1).sum())


def test_the_same_card_twice_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write(tmp_path / "old.json", card("Same"))
    new = write(tmp_path / "new.json", card("Same"))
    assert diff(old, new, "-o", tmp_path / "report") == 0
    assert summary(tmp_path / "report")["counts"]["unchanged"] == 1
    assert "1 unchanged" in capsys.readouterr().out
    page = (tmp_path / "report" / "index.html").read_text("utf-8")
    assert "<h2>Unchanged (1)</h2><ul><li>new.json</li></ul>" in page
    assert "<img" not in page
    assert not (tmp_path / "report" / "cards").exists()


def test_a_changed_card_exits_1_with_its_count_and_pictures(tmp_path: Path) -> None:
    old = write(tmp_path / "a" / "card.json", card("Hello"))
    new = write(tmp_path / "b" / "card.json", card("Hullo"))
    report = tmp_path / "report"
    assert diff(old, new, "-o", report) == 1
    before, after = renderer.render(old), renderer.render(new)
    count = changed_pixels(before, after)
    assert 0 < count < 300 * 120
    (entry,) = summary(report)["cards"]
    assert entry == {"name": "card.json", "status": "changed", "changed": True, "pixels": count}
    pictures = report / "cards" / "0001"
    assert (pictures / "old.png").read_bytes() == before
    assert (pictures / "new.png").read_bytes() == after
    red = np.asarray(Image.open(pictures / "diff.png").convert("RGB"))
    assert int((red == (220, 38, 38)).all(axis=-1).sum()) == count
    page = (report / "index.html").read_text("utf-8")
    assert f"changed: {count:,} of 36,000 pixels" in page
    assert page.index('src="cards/0001/old.png"') < page.index('src="cards/0001/diff.png"')
    assert page.index('src="cards/0001/diff.png"') < page.index('src="cards/0001/new.png"')


def test_a_difference_of_one_level_is_no_change(tmp_path: Path) -> None:
    """The golden tests' rule: a pixel differs when a channel is off by more than 1."""
    base = write(tmp_path / "base.json", card("", "#808080"))
    near = write(tmp_path / "near.json", card("", "#818181"))
    far = write(tmp_path / "far.json", card("", "#828282"))
    assert diff(base, near, "-o", tmp_path / "r1") == 0
    assert diff(base, far, "-o", tmp_path / "r2") == 1
    assert summary(tmp_path / "r2")["cards"][0]["pixels"] == 300 * 120


def test_folders_pair_cards_by_path(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old / "same.json", card("Same"))
    write(new / "same.json", card("Same"))
    write(old / "blog" / "post.json", card("Post"))
    write(new / "blog" / "post.json", card("Post, edited"))
    write(old / "gone.json", card("Gone"))
    write(new / "added.json", card("Added"))
    write(new / ".drafts" / "hidden.json", card("Hidden"))
    report = tmp_path / "report"
    assert diff(old, new, "-o", report) == 1
    cards = {c["name"]: c["status"] for c in summary(report)["cards"]}
    assert cards == {
        "added.json": "added",
        "blog/post.json": "changed",
        "gone.json": "removed",
        "same.json": "unchanged",
    }
    page = (report / "index.html").read_text("utf-8")
    assert "<h2>Unchanged (1)</h2><ul><li>same.json</li></ul>" in page
    shown = sorted(p.relative_to(report).as_posix() for p in (report / "cards").rglob("*.png"))
    assert shown == [
        "cards/0001/new.png",  # added
        "cards/0002/diff.png",
        "cards/0002/new.png",
        "cards/0002/old.png",
        "cards/0003/old.png",  # removed
    ]


def test_a_template_with_data_rows(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("title,tone\nFirst,#111827\nSecond,#111827\nBroken\n", "utf-8")
    old = write(tmp_path / "old.json", card("{{ title }}", color="{{ tone }}"))
    new = write(tmp_path / "new.json", card("{{ title }}!", color="{{ tone }}"))
    report = tmp_path / "report"
    assert diff(old, new, "--data", rows, "-o", report) == 1
    cards = summary(report)["cards"]
    assert [(c["name"], c["status"], c["changed"]) for c in cards] == [
        ("new.json · rows.csv row 1", "changed", True),
        ("new.json · rows.csv row 2", "changed", True),
        ("new.json · rows.csv row 3", "failed", False),  # the same failure on both sides
    ]
    assert "'tone' is missing" in cards[2]["note"]
    assert "/components/0/color" in cards[2]["note"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    write(root / "og" / "a.json", card("Alpha"))
    write(root / "og" / "b.json", card("Beta"))
    write(root / "og" / "t.json", card("{{ title }}"))
    (root / "posts.csv").write_text("title\nOne\nTwo\n", "utf-8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "cards")
    return root


def test_git_ref_against_the_working_tree(repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    assert diff("--git", "HEAD", repo / "og", "-o", report) == 0
    write(repo / "og" / "a.json", card("Alpha, edited"))
    write(repo / "og" / "new.json", card("Not committed yet"))
    assert diff("--git", "HEAD", repo / "og", "-o", report) == 1  # an earlier report: replaced
    cards = {c["name"]: c["status"] for c in summary(report)["cards"]}
    assert cards == {
        "a.json": "changed",
        "b.json": "unchanged",
        "new.json": "added",
        "t.json": "unchanged",
    }
    # The checkout of HEAD is gone again and the repository is as it was.
    assert git(repo, "worktree", "list").count("\n") == 1
    assert git(repo, "status", "--porcelain").split("\n")[:2] == [" M og/a.json", "?? og/new.json"]


def test_git_ref_with_data_rows_from_that_commit(repo: Path, tmp_path: Path) -> None:
    (repo / "posts.csv").write_text("title\nOne\nTwo edited\nThree\n", "utf-8")
    report = tmp_path / "report"
    code = diff("--git", "HEAD", repo / "og" / "t.json", "--data", repo / "posts.csv", "-o", report)
    assert code == 1
    cards = [(c["name"], c["status"]) for c in summary(report)["cards"]]
    assert cards == [
        ("t.json · posts.csv row 1", "unchanged"),
        ("t.json · posts.csv row 2", "changed"),
        ("t.json · posts.csv row 3", "added"),
    ]


def test_what_cannot_run_exits_2(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = write(tmp_path / "one.json", card("One"))
    report = tmp_path / "report"
    assert diff(one, tmp_path / "missing.json", "-o", report) == 2
    assert "missing.json" in capsys.readouterr().err
    assert diff(one, "-o", report) == 2
    assert diff(one, repo / "og", "-o", report) == 2
    assert "both be folders or both be files" in capsys.readouterr().err
    assert diff("--git", "no-such-ref", repo / "og", "-o", report) == 2
    assert "no-such-ref" in capsys.readouterr().err
    assert diff("--git", "HEAD", one, "-o", report) == 2  # not in a repository
    assert git(repo, "worktree", "list").count("\n") == 1
    other = tmp_path / "not-a-report"
    other.mkdir()
    (other / "notes.txt").write_text("mine", "utf-8")
    assert diff(one, one, "-o", other) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (other / "notes.txt").read_text("utf-8") == "mine"
    assert not report.exists()
