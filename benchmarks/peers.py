"""One run of everything the README's Performance tables show, as JSON lines on stdout: the
peer harness's Satori and Takumi runners (Takumi's PNG, WEBP and JPEG encoders), this engine in
every format (png-small is PNG with compression="small"), the server against a Takumi server
(`load.py`), cold start and memory (`perf.py`), the palette curve (`curve.py`) and the
glyph-fill trade-off (`glyph_fill.py`). All on the same cards, one after another (ratios within
one run compare like with like on a shared machine).

Needs the peer harness: RENDERER_PEERS (or --peers) names a copy of ../shared/peers after its
`bash setup.sh`; it is run from there and never copied here. Cards: cards.py, gathered (with the
images they name) into one temporary folder that every runner reads.

The per-card runners (Satori, Takumi, ours) run in `--rounds` rounds (3), the peers first in
one round and ours first in the next, each line tagged with its round: the machine's speed
drifts by tens of per cent within minutes, so a ratio is taken within a round and the table
gives the median over rounds and their range.

Usage: RENDERER_PEERS=/path/to/peers python benchmarks/peers.py [--iter 40] [--rounds 3]
           [--cards hello,blog,cjk,photo] [--no-load] > run.jsonl
       python benchmarks/table.py run.jsonl --readme README.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cards import NAMES, card_path

HERE = Path(__file__).resolve().parent


def _gather(names: list[str], folder: Path) -> None:
    """Each card's JSON and the image files it names, linked into `folder`."""
    for name in names:
        path = card_path(name)
        (folder / path.name).symlink_to(path)
        for component in json.loads(path.read_text())["components"]:
            src = component.get("src") if component.get("type") == "image" else None
            if src and (path.parent / src).is_file() and not (folder / src).exists():
                (folder / src).symlink_to((path.parent / src).resolve())


def _lines(
    argv: list[str], cwd: Path, env: dict[str, str], tag: dict[str, Any] | None = None
) -> None:
    """Run one runner and pass its JSON lines through (anything else goes to stderr), each
    with `tag`'s fields added."""
    print(f"-- {' '.join(argv)}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            print(json.dumps(json.loads(line) | (tag or {})) if tag else line, flush=True)
        else:
            print(line, file=sys.stderr)
    if done.returncode:
        print(f"!! exit {done.returncode}: {done.stderr[-2000:]}", file=sys.stderr, flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peers", default=os.environ.get("RENDERER_PEERS", ""))
    p.add_argument("--iter", type=int, default=40)
    p.add_argument("--cards", default=",".join(NAMES))
    p.add_argument("--no-load", action="store_true", help="skip the server benchmark")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="time the peers and this engine this many times, alternating which goes first",
    )
    args = p.parse_args()
    if not args.peers:
        p.error("name the peer harness folder with --peers or RENDERER_PEERS")
    peers, names = Path(args.peers).resolve(), args.cards.split(",")
    with tempfile.TemporaryDirectory(prefix="renderer-cards-") as tmp:
        folder = Path(tmp)
        _gather(names, folder)
        env = {**os.environ, "CARDS": args.cards, "ITER": str(args.iter)}
        env |= {"CARDS_DIR": str(folder), "RENDERER_BENCH_CARDS": str(folder)}
        env |= {"RENDERER_PEERS": str(peers)}
        formats = "png,png-small,webp,jpeg,svg"
        ours = [sys.executable, str(HERE / "run.py"), "--iter", str(args.iter)]
        for k in range(args.rounds):  # the machine's speed drifts: peers and ours side by side
            tag = {"round": k}
            runners = [
                (["node", "satori.js"], peers, env),
                (["node", "takumi.js"], peers, env | {"FORMATS": "png,webp,jpeg"}),
                ([*ours, "--cards", args.cards, "--formats", formats], HERE, env),
            ]
            for argv, cwd, runner_env in runners if k % 2 == 0 else runners[::-1]:
                _lines(argv, cwd, runner_env, tag)
        if not args.no_load:
            _lines([sys.executable, str(HERE / "load.py"), "--cards", "blog,photo"], HERE, env)
        _lines([sys.executable, str(HERE / "perf.py"), "cold", "memory", "fresh"], HERE, env)
        _lines([sys.executable, str(HERE / "curve.py")], HERE, env)
        _lines([sys.executable, str(HERE / "glyph_fill.py")], HERE, env)


if __name__ == "__main__":
    main()
