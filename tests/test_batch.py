"""`renderer batch` as a user runs it: a real subprocess, real files, real worker processes."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import renderer
from renderer.batch.manifest import Manifest

MANIFEST = ".renderer-manifest.jsonl"


def card(text: str = "{{ title }}", **extra: Any) -> dict[str, Any]:
    comp = {"type": "text", "text": text, "fontSize": 10, "x": 2, "y": 2, **extra}
    line = {"type": "divider", "length": 40, "x": 0, "y": 20, "color": "#0070f3"}
    return {"width": 60, "height": 24, "components": [comp, line]}


def batch(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "renderer", "batch", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def write(path: Path, spec: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def images(out: Path) -> dict[str, bytes]:
    """Every output file (not the manifest), by path relative to `out`."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def manifest_entries(out: Path) -> dict[str, dict[str, Any]]:
    """The live entries of the manifest journal, as the next run reads them."""
    entries: dict[str, dict[str, Any]] = {}
    for line in (out / MANIFEST).read_text("utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "removed" in record:
            entries.pop(record["removed"], None)
        elif "output" in record:
            entries[record["output"]] = record
    return entries


def assert_manifest_matches(out: Path) -> None:
    for rel, entry in manifest_entries(out).items():
        data = (out / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel


def assert_whole_images(out: Path) -> None:
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".renderer-tmp")]
    assert not leftovers
    for rel, data in images(out).items():
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # raises on a truncated file
        assert rel


# --- folder batch -------------------------------------------------------------------------------


def test_folder_of_50_with_3_broken_renders_47_and_reports_3(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    for i in range(50):
        write(src / f"group{i % 3}" / f"card{i:02}.json", card(f"Card {i}"))
    write(src / "group0" / "card00.json", {**card("x"), "width": 0})
    write(src / "group1" / "card01.json", card("x", fontSize=-3))
    (src / "group2" / "card02.json").write_text('{"width": 60, "height": 24, "components": [')
    result = batch(src, "-o", out, "--jobs", "2", "--json")
    assert result.returncode == 1, result.stderr
    s = summary(result)
    assert (s["rendered"], s["skipped"], s["failed"]) == (47, 0, 3)
    reported = {(e["file"].split("src/")[1], e["pointer"]) for e in s["errors"]}
    assert reported == {
        ("group0/card00.json", "/width"),
        ("group1/card01.json", "/components/0/fontSize"),
        ("group2/card02.json", ""),
    }
    assert "Invalid JSON at line 1" in " ".join(e["message"] for e in s["errors"])
    written = images(out)
    assert len(written) == 47
    assert "group1/card04.png" in written
    assert written["group1/card04.png"] == renderer.render(card("Card 4"))
    assert "group1/card01.json: /components/0/fontSize: Must be > 0" in result.stderr


def test_spec_names_its_own_output(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src / "a.json", {**card("A"), "output": {"format": "webp", "quality": 80}})
    write(src / "b.json", {**card("B"), "output": {"path": "custom/b-card.jpg"}})
    write(src / "c.json", {**card("C"), "output": {"path": "../escape.png"}})
    write(src / "d.json", {**card("D"), "output": {"path": "d.png", "format": "webp"}})
    result = batch(src, "-o", out, "--format", "tiff", "--json")
    s = summary(result)
    assert result.returncode == 1
    assert sorted(images(out)) == ["a.webp", "custom/b-card.jpg"]
    assert images(out)["a.webp"] == renderer.render(card("A"), "webp", quality=80)
    assert images(out)["custom/b-card.jpg"][:3] == b"\xff\xd8\xff"
    assert {e["pointer"] for e in s["errors"]} == {"/output/path"}
    assert not (tmp_path / "escape.png").exists()


def test_format_flag_and_svg(tmp_path: Path) -> None:
    write(tmp_path / "src" / "a.json", card("A"))
    assert batch(tmp_path / "src", "-o", tmp_path / "out", "-f", "svg").returncode == 0
    assert (tmp_path / "out" / "a.svg").read_bytes() == renderer.render(card("A"), "svg")


# --- templates and data -------------------------------------------------------------------------


def test_csv_with_quotes_commas_unicode_and_a_missing_column(tmp_path: Path) -> None:
    template = write(tmp_path / "og.json", card("{{ title }} · {{ price }}"))
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "slug,title,price\n"
        'quote,"She said ""hi"", then left",3\n'
        'comma,"a, b, c",4.50\n'
        "unicode,Ünïcødé 日本語 عربى,5\n"
        "short,Only a title\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = batch(template, "--data", rows, "-o", out, "--name", "{{ slug }}.png", "--json")
    assert result.returncode == 1
    written = images(out)
    assert sorted(written) == ["comma.png", "quote.png", "unicode.png"]
    assert written["quote.png"] == renderer.render(card('She said "hi", then left · 3'))
    assert written["comma.png"] == renderer.render(card("a, b, c · 4.50"))
    assert written["unicode.png"] == renderer.render(card("Ünïcødé 日本語 عربى · 5"))
    (error,) = summary(result)["errors"]
    assert error["row"] == "rows.csv row 4"
    assert error["pointer"] == "/components/0/text"
    assert "'price' is missing" in error["message"]
    # The row is named once, beside the message (issue 12: it used to be repeated in it).
    assert "row 4" not in error["message"]
    (line,) = [line for line in result.stderr.splitlines() if "'price' is missing" in line]
    assert line.startswith(f"{template} (rows.csv row 4): /components/0/text: ")
    assert line.count("rows.csv row 4") == 1


def test_var_json_and_jsonl_rows(tmp_path: Path) -> None:
    template = write(tmp_path / "t.json", card("{{ title }} by {{ site }}"))
    (tmp_path / "rows.json").write_text(json.dumps([{"title": "One"}, {"title": 2}]))
    (tmp_path / "rows.jsonl").write_text('{"title": "Three", "site": "Own"}\n\n[1]\n')
    out = tmp_path / "out"
    data = [tmp_path / "rows.json", tmp_path / "rows.jsonl"]
    result = batch(template, "--data", *data, "--var", "site=Blog", "-o", out, "--json")
    assert result.returncode == 1  # the JSON line that is not an object
    written = images(out)
    assert sorted(written) == ["t-1.png", "t-2.png", "t-3.png"]
    assert written["t-2.png"] == renderer.render(card("2 by Blog"))
    assert written["t-3.png"] == renderer.render(card("Three by Own"))
    (error,) = summary(result)["errors"]
    assert error["row"] == "rows.jsonl line 3"


def test_markdown_front_matter_rows(tmp_path: Path) -> None:
    template = write(tmp_path / "og.json", card("{{ title }} ({{ date }})"))
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "hello-world.md").write_text(
        '---\ntitle: "Hello: World"\ndate: 2024-05-01\ntags: [a, b]\n---\n# Body\n'
    )
    (posts / "second.md").write_text("---\ntitle: Second\ndate: 2024-06-01\nslug: two\n---\n")
    out = tmp_path / "out"
    result = batch(
        template, "--data", *sorted(posts.glob("*.md")), "-o", out, "--name", "{{ slug }}.png"
    )
    assert result.returncode == 0, result.stderr
    written = images(out)
    assert written["hello-world.png"] == renderer.render(card("Hello: World (2024-05-01)"))
    assert written["two.png"] == renderer.render(card("Second (2024-06-01)"))


def test_bad_data_file_is_an_argument_error(tmp_path: Path) -> None:
    template = write(tmp_path / "t.json", card())
    (tmp_path / "rows.json").write_text("[{")
    result = batch(template, "--data", tmp_path / "rows.json", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "rows.json line 1" in result.stderr
    assert not (tmp_path / "out").exists()


# --- incremental --------------------------------------------------------------------------------


def test_incremental_rerun_renders_nothing_and_one_changed_row_renders_one(tmp_path: Path) -> None:
    template = write(tmp_path / "t.json", card())
    rows = tmp_path / "rows.csv"

    def save(titles: list[str]) -> None:
        with rows.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["slug", "title"])
            w.writerows([[f"s{i}", t] for i, t in enumerate(titles)])

    def run(*extra: str) -> dict[str, Any]:
        args = (template, "--data", rows, "-o", tmp_path / "out", "--name", "{{ slug }}.png")
        result = batch(*args, "--json", *extra)
        assert result.returncode == 0, result.stderr
        return summary(result)

    save(["a", "b", "c"])
    assert (run()["rendered"], run()["skipped"]) == (3, 3)
    before = images(tmp_path / "out")
    save(["a", "B!", "c"])
    s = run()
    assert (s["rendered"], s["skipped"]) == (1, 2)
    after = images(tmp_path / "out")
    assert [k for k in after if after[k] != before[k]] == ["s1.png"]
    assert run("--force")["rendered"] == 3
    (tmp_path / "out" / "s2.png").write_bytes(b"damaged")  # a file changed behind our back
    assert run()["rendered"] == 1
    assert_manifest_matches(tmp_path / "out")


def test_editing_an_image_rerenders_the_cards_that_use_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (4, 4), "#ff0000").save(src / "logo.png")
    with_logo = {
        **card("L"),
        "components": [{"type": "image", "src": "logo.png", "width": 8, "height": 8}],
    }
    write(src / "a.json", with_logo)
    write(src / "b.json", card("no logo"))
    out = tmp_path / "out"
    assert summary(batch(src, "-o", out, "--json"))["rendered"] == 2
    Image.new("RGB", (4, 4), "#00ff00").save(src / "logo.png")
    s = summary(batch(src, "-o", out, "--json"))
    assert (s["rendered"], s["skipped"]) == (1, 1)
    with Image.open(out / "a.png") as im:
        assert im.convert("RGB").getpixel((4, 4)) == (0, 255, 0)


# --- nothing lost -------------------------------------------------------------------------------


N_MANY = 150  # enough that a run is still going when 10 files exist


def _many(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "src"
    for i in range(n):
        spec = {
            "width": 300,
            "height": 100,
            "components": [
                {
                    "type": "text",
                    "text": f"Card number {i} " * 3,
                    "fontSize": 20,
                    "frameWidth": 280,
                    "x": 10,
                    "y": 10,
                }
            ],
        }
        write(src / f"c{i:04}.json", spec)
    return src


def _start_and_wait(src: Path, out: Path, at_least: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "renderer", "batch", str(src), "-o", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a CI runner's job is
    )
    deadline = time.monotonic() + 60
    # Workers write files before the parent hears of them (in chunks): wait for the manifest too,
    # so the run is stopped with some cards recorded and others only written.
    manifest = out / MANIFEST
    while len(list(out.glob("*.png"))) < at_least or not manifest.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return proc


def test_ctrl_c_stops_cleanly_with_whole_files_and_a_matching_manifest(tmp_path: Path) -> None:
    src, out = _many(tmp_path, N_MANY), tmp_path / "out"
    proc = _start_and_wait(src, out, 10)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"Traceback" not in stderr
    done = images(out)
    assert 10 <= len(done) < N_MANY
    assert_whole_images(out)
    assert set(manifest_entries(out)) == set(done)
    assert_manifest_matches(out)
    s = summary(batch(src, "-o", out, "--json"))
    assert (s["rendered"], s["skipped"]) == (N_MANY - len(done), len(done))


def test_sigkill_leaves_no_partial_visible_file_and_the_next_run_finishes(tmp_path: Path) -> None:
    src, out = _many(tmp_path, N_MANY), tmp_path / "out"
    proc = _start_and_wait(src, out, 10)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    for rel, data in images(out).items():
        if not rel.endswith(".renderer-tmp"):
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    assert_manifest_matches(out)
    s = summary(batch(src, "-o", out, "--json"))
    assert s["rendered"] + s["skipped"] == N_MANY
    assert s["skipped"] == len(manifest_entries(out)) - s["rendered"]
    assert_whole_images(out)
    assert len(images(out)) == N_MANY


def test_a_file_the_manifest_does_not_know_is_not_overwritten(tmp_path: Path) -> None:
    """A file of the user's in OUT_DIR where a card would go fails that item, untouched; the
    other cards render; --force replaces it; and a file the batch wrote is replaced as before."""
    src, out = tmp_path / "src", tmp_path / "out"
    for name in ("a", "b"):
        write(src / f"{name}.json", card(name))
    (out / "a.png").parent.mkdir(parents=True)
    (out / "a.png").write_bytes(b"my own picture")
    r = batch(src, "-o", out, "--json")
    assert r.returncode == 1, r.stderr
    s = summary(r)
    assert (s["rendered"], s["failed"]) == (1, 1)
    (error,) = s["errors"]
    assert error["output"] == "a.png"
    assert "no record of a batch writing it" in error["message"]
    assert "--force" in error["message"]
    assert (out / "a.png").read_bytes() == b"my own picture"
    assert set(images(out)) == {"a.png", "b.png"}
    write(src / "b.json", card("b, edited"))  # the batch's own file is replaced as before
    assert summary(batch(src, "-o", out, "--json"))["rendered"] == 1
    assert (out / "a.png").read_bytes() == b"my own picture"
    s = summary(batch(src, "-o", out, "--json", "--force"))
    assert (s["rendered"], s["failed"]) == (2, 0)
    assert (out / "a.png").read_bytes().startswith(b"\x89PNG")
    assert_manifest_matches(out)


def test_a_file_a_killed_run_wrote_without_its_record_is_drawn_again(tmp_path: Path) -> None:
    """A run claims each new output in the journal before a worker may write it: a kill
    between the file's rename and its record leaves a file the next run knows as its own,
    and compaction keeps the claim while that file has no entry."""
    src, out = tmp_path / "src", tmp_path / "out"
    write(src / "a.json", card("a"))
    out.mkdir()
    (out / "a.png").write_bytes(b"left by a killed run")
    (out / MANIFEST).write_text('{"renderer_manifest": 1}\n{"claim": "a.png"}\n', "utf-8")
    manifest = Manifest(out / MANIFEST)
    manifest.compact(out)
    assert '{"claim": "a.png"}' in (out / MANIFEST).read_text("utf-8")
    s = summary(batch(src, "-o", out, "--json"))
    assert (s["rendered"], s["failed"]) == (1, 0), s
    assert (out / "a.png").read_bytes().startswith(b"\x89PNG")
    assert set(manifest_entries(out)) == {"a.png"}


def test_a_second_batch_into_the_same_folder_is_refused_while_one_runs(tmp_path: Path) -> None:
    """Two batches into one OUT_DIR would each compact the journal from what they alone read,
    losing the other's entries: the second is refused (exit 2, saying why), nothing written."""
    src, out = _many(tmp_path, N_MANY), tmp_path / "out"
    other = write(tmp_path / "other" / "x.json", card("x"))
    first = _start_and_wait(src, out, 2)
    os.killpg(first.pid, signal.SIGSTOP)  # held mid-run, however fast the machine
    try:
        second = batch(other, "-o", out)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 2, second.stderr
    assert "another renderer batch is writing" in second.stderr
    assert "x.png" not in images(out)
    assert set(manifest_entries(out)) == set(images(out))
    assert batch(other, "-o", out).returncode == 0  # once the first is done
    assert "x.png" in images(out)


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src / "a0.json",
        {
            **card("x"),
            "components": [{"type": "image", "src": "missing.png", "width": 4, "height": 4}],
        },
    )
    for i in range(1, 20):
        write(src / f"a{i:02}.json", card(str(i)))
    result = batch(src, "-o", tmp_path / "out", "--jobs", "1", "--fail-fast", "--json")
    assert result.returncode == 1
    s = summary(result)
    assert s["failed"] == 1
    assert s["errors"][0]["pointer"] == "/components/0/src"
    assert s["rendered"] < 19


def test_a_template_with_no_data_is_filled_not_printed(tmp_path: Path) -> None:
    """No --data and no --var (the Action's "render the template once"): a placeholder's
    default is used and a bare one fails its item by name; its braces are never drawn."""
    src = tmp_path / "src"
    write(src / "a.json", card('{{ title | default: "Untitled" }}'))
    write(src / "b.json", card("{{ author }}"))
    write(src / "c.json", card("plain"))
    out = tmp_path / "out"
    result = batch(src, "-o", out, "--json")
    assert result.returncode == 1
    s = summary(result)
    assert (s["rendered"], s["failed"]) == (2, 1)
    assert "'author' is missing" in s["errors"][0]["message"]
    expected = renderer.render(card("Untitled"), "png")
    assert images(out) == {"a.png": expected, "c.png": renderer.render(card("plain"), "png")}


def test_an_output_folder_that_cannot_hold_the_cards_is_an_argument_error(tmp_path: Path) -> None:
    """-o naming a file, a path under a file, or the SRC folder itself (whose specs a batch
    would skip, as it skips everything in OUT_DIR): exit 2 with one line, before any work."""
    spec = write(tmp_path / "src" / "a.json", card("x"))
    cases = {
        spec: "is a file, not a folder",
        spec / "out": "cannot make the output folder",
        tmp_path / "src": "is inside the output folder",
    }
    for out, message in cases.items():
        result = batch(spec if out != tmp_path / "src" else out, "-o", out, "--json")
        assert result.returncode == 2, (out, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert json.loads(spec.read_text()) == card("x")
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["a.json"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("card.gif", "does not write .gif images"),
        ("{{ sku }}.webp", "empty before its extension"),
        ("a\nb.png", "control characters"),
        ("x" * 256 + ".png", "at most 255 bytes"),
    ],
)
def test_an_output_name_that_cannot_be_what_it_says_fails_its_item(
    tmp_path: Path, name: str, reason: str
) -> None:
    """Not `card.gif.png`, `.webp.png` (a hidden file the next folder batch skips), a name
    with a line break, or the file system's own error with a temporary name in it."""
    spec = write(tmp_path / "t.json", card("{{ title }}"))
    out = tmp_path / "out"
    result = batch(spec, "--var", "title=x", "--var", "sku=", "-o", out, "--name", name, "--json")
    assert result.returncode == 1
    assert reason in summary(result)["errors"][0]["message"]
    assert images(out) == {}


def test_a_name_of_255_bytes_is_written(tmp_path: Path) -> None:
    spec = write(tmp_path / "t.json", card("x"))
    name = "é" * 125 + ".png"  # 254 bytes
    result = batch(spec, "-o", tmp_path / "out", "--name", name, "--var", "a=1")
    assert result.returncode == 0, result.stderr
    assert list(images(tmp_path / "out")) == [name]


def test_fail_fast_on_two_workers_stops_within_a_few_cards(tmp_path: Path) -> None:
    """Jobs go to the workers one at a time under --fail-fast (eight at a time drew 60-90 of
    100 cards past a failure at the 6th): what is drawn after it is what was in flight."""
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "id,size\n" + "".join(f"r{i:03},{'oops' if i == 5 else 10 + i}\n" for i in range(40))
    )
    template = write(tmp_path / "t.json", card("x", fontSize="{{ size }}"))
    out = tmp_path / "out"
    result = batch(
        template,
        "--data",
        rows,
        "-o",
        out,
        "--name",
        "{{ id }}.png",
        "--fail-fast",
        "--json",
        "--jobs",
        "2",
    )
    assert result.returncode == 1
    s = summary(result)
    assert s["failed"] == 1
    assert s["errors"][0]["pointer"] == "/components/0/fontSize"
    assert s["rendered"] <= 5 + 6, s  # rows 1-5, and at most a few in flight beside row 6
    assert s["not_started"] == 40 - 1 - s["rendered"]


# --- progress -----------------------------------------------------------------------------------


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    for i in range(5):
        write(tmp_path / "src" / f"{i}.json", card(str(i)))
    result = batch(tmp_path / "src", "-o", tmp_path / "out", "--progress-interval", "0")
    assert result.returncode == 0
    assert "renderer batch: 5/5 done (5 rendered, 0 skipped, 0 failed)" in result.stderr
    assert "\r" not in result.stderr
    assert result.stdout.startswith("5 rendered, 0 skipped, 0 failed in ")
    assert "cards/s" in result.stdout


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    for i in range(5):
        write(tmp_path / "src" / f"{i}.json", card(str(i)))
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "renderer",
            "batch",
            str(tmp_path / "src"),
            "-o",
            str(tmp_path / "out"),
        ],
        stdout=subprocess.PIPE,
        stderr=child,
    )
    os.close(child)
    stdout, _ = proc.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.returncode == 0
    assert b"5/5" in shown
    assert b"card/s" in shown or b"s/card" in shown
    assert stdout.startswith(b"5 rendered")


# --- Dask ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_cluster() -> Any:
    """A real `LocalCluster(n_workers=2, processes=True)`, in its own process as a user runs one."""
    pytest.importorskip("distributed")
    code = (
        "import sys\n"
        "from distributed import LocalCluster\n"
        "c = LocalCluster(n_workers=2, processes=True, threads_per_worker=1,"
        " dashboard_address=None)\n"
        "print(c.scheduler_address, flush=True)\n"
        "sys.stdin.read()\n"
        "c.close()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    assert address.startswith("tcp://"), address
    yield address
    proc.communicate("", timeout=60)


def test_dask_executor_is_byte_identical_to_local(tmp_path: Path, local_cluster: str) -> None:
    src = tmp_path / "src"
    for i in range(12):
        write(src / f"sub{i % 2}" / f"{i}.json", card(f"Card {i} ☃"))
    write(src / "w.json", {**card("webp"), "output": {"format": "webp"}})
    write(src / "broken.json", card("x", fontSize=0))
    local = batch(src, "-o", tmp_path / "local", "--jobs", "2", "--json")
    dask = batch(
        src, "-o", tmp_path / "dask", "--executor", "dask", "--scheduler", local_cluster, "--json"
    )
    shared = batch(
        src,
        "-o",
        tmp_path / "shared",
        "--executor",
        "dask",
        "--scheduler",
        local_cluster,
        "--write-on-workers",
        "--json",
    )
    for result in (local, dask, shared):
        assert result.returncode == 1, result.stderr
        s = summary(result)
        assert (s["rendered"], s["failed"]) == (13, 1)
        assert s["errors"][0]["pointer"] == "/components/0/fontSize"
    expected = images(tmp_path / "local")
    assert len(expected) == 13
    assert images(tmp_path / "dask") == expected
    assert images(tmp_path / "shared") == expected
    assert_manifest_matches(tmp_path / "shared")
    again = batch(
        src, "-o", tmp_path / "dask", "--executor", "dask", "--scheduler", local_cluster, "--json"
    )
    assert summary(again)["skipped"] == 13


def test_manifest_record_has_every_entry_field() -> None:
    """`Entry.as_record` is written by hand for speed; it must not drift from the fields."""
    from dataclasses import asdict

    from renderer.batch.manifest import Entry

    entry = Entry("a/b.png", "k", "0" * 64, 12, "src/b.json", "row 3")
    assert entry.as_record() == asdict(entry)


# --- bounds on data files and output paths (issue 11; the hostile cases are in test_hostile) ---


def test_csv_header_is_checked_in_linear_time_up_to_its_column_limit(tmp_path: Path) -> None:
    from renderer.batch.rows import MAX_COLUMNS, DataError, read_rows

    wide = tmp_path / "wide.csv"
    header = [f"c{i}" for i in range(MAX_COLUMNS)]
    wide.write_text(",".join(header) + "\n" + ",".join(header) + "\n")
    started = time.monotonic()
    (row,) = read_rows([wide])
    assert time.monotonic() - started < 5
    assert len(row.values) == MAX_COLUMNS
    wide.write_text(",".join([*header, "one-more"]) + "\n")
    with pytest.raises(DataError, match=f"at most {MAX_COLUMNS} are accepted"):
        read_rows([wide])
    wide.write_text("a,b,a,c,b,\n1,2,3,4,5,6\n")
    with pytest.raises(DataError, match="Repeated or empty: 'a', 'b'"):
        read_rows([wide])


def test_front_matter_anchors_without_aliases_still_work(tmp_path: Path) -> None:
    from renderer.batch.rows import read_rows

    post = tmp_path / "post.md"
    post.write_text("---\ntitle: &t Hello\ntags: [a, b]\ndate: 2024-05-01\n---\nBody\n")
    (row,) = read_rows([post])
    assert row.problem is None
    assert row.values == {
        "title": "Hello",
        "tags": ["a", "b"],
        "date": row.values["date"],
        "slug": "post",
    }
    post.write_text("---\ntitle: &t Hello\nagain: *t\n---\n")
    (row,) = read_rows([post])
    assert row.problem is not None
    assert "aliases (*name) are not accepted" in row.problem


def test_a_symlinked_folder_never_leads_a_card_out_of_out_dir_in_process(tmp_path: Path) -> None:
    """`--jobs 1`: the batch process writes the files itself (the workers' path is in
    test_hostile); the other cards still render."""
    write(tmp_path / "src" / "sub" / "a.json", card("A"))
    write(tmp_path / "src" / "b.json", card("B"))
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    result = batch(tmp_path / "src", "-o", tmp_path / "out", "--jobs", "1", "--json")
    assert result.returncode == 1
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert (tmp_path / "out" / "b.png").read_bytes() == renderer.render(card("B"))
    (error,) = summary(result)["errors"]
    assert "leads outside the output folder" in error["message"]


def test_a_symlinked_manifest_is_refused_before_any_work(tmp_path: Path) -> None:
    """A manifest planted as a symbolic link would have each finished card's line appended to
    the file it points at, outside OUT_DIR: the run refuses it (exit 2) and writes nothing."""
    spec = tmp_path / "a.json"
    spec.write_text(
        json.dumps({"width": 40, "height": 20, "components": [{"type": "text", "text": "x"}]})
    )
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    (out / ".renderer-manifest.jsonl").symlink_to(target)
    done = subprocess.run(
        [sys.executable, "-m", "renderer", "batch", str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert target.read_text() == "untouched\n"
    assert not (out / "a.png").exists()
