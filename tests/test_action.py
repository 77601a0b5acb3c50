"""`action.yml` (issue 18): the composite action's `run:` steps, run by bash as GitHub runs them.

The file is parsed with PyYAML; each step's `env:` gets its `${{ inputs.NAME }}` values (defaults
applied) as GitHub substitutes them, and the step's script runs with `bash --noprofile --norc
-eo pipefail` in a temporary workspace, with `GITHUB_ACTION_PATH` (this checkout),
`RUNNER_TEMP`, `GITHUB_OUTPUT` and `GITHUB_PATH` set. Steps that `uses:` another action
(actions/cache) cannot run here and are skipped; the cache is simulated by keeping the output
folder between runs, which is what restoring it does.

The install step really builds and installs renderer from `GITHUB_ACTION_PATH` into its own
virtual environment; to stay offline and fast, that environment is seeded with a path to this
test run's packages (so the dependencies are already there) and pip builds without isolation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
TEMPLATE = {
    "width": 300,
    "height": 150,
    "background": "#123456",
    "components": [
        {
            "type": "text",
            "text": "{{ title }}",
            "fontSize": 24,
            "color": "#ffffff",
            "x": 10,
            "y": 10,
        },
        {
            "type": "text",
            "text": "{{ site }}",
            "fontSize": 12,
            "color": "#ffffff",
            "x": 10,
            "y": 120,
        },
    ],
}


@dataclass
class Runner:
    """A workspace and runner temp folder shared by the steps of several action runs."""

    workspace: Path
    temp: Path

    def env(self, outputs: Path) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("RENDERER_", "PIP_"))}
        return {
            **base,
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_PATH": str(self.temp / "github_path"),
            "CI": "true",
        }


def _inputs(given: dict[str, str]) -> dict[str, str]:
    declared = ACTION["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    missing = [k for k, v in declared.items() if v.get("required") and k not in given]
    assert not missing, missing
    return {k: given.get(k, str(v.get("default", ""))) for k, v in declared.items()}


def _expand(value: str, inputs: dict[str, str]) -> str:
    """`${{ inputs.NAME }}` as GitHub substitutes it; any other expression fails the test."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1).strip()
        assert expr.startswith("inputs."), f"expression the test cannot evaluate: {expr}"
        return inputs[expr.removeprefix("inputs.")]

    return re.sub(r"\$\{\{(.*?)\}\}", one, value)


def run_step(
    runner: Runner, name: str, given: dict[str, str], extra: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    """Run the step called `name` (with `extra` environment): (exit status, its output, the
    outputs it set)."""
    (step,) = [s for s in ACTION["runs"]["steps"] if s["name"] == name]
    assert step["shell"] == "bash"
    assert "${{" not in step["run"], "inputs must reach scripts through env, not be pasted in"
    inputs = _inputs(given)
    outputs = runner.temp / "github_output"
    outputs.write_text("")
    env = runner.env(outputs)
    env.update({k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()})
    env.update(extra or {})
    script = runner.temp / "step.sh"
    script.write_text(step["run"])
    r = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=runner.workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    pairs = (line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return r.returncode, r.stdout + r.stderr, dict(pairs)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The install step, run once: renderer built from this checkout into RUNNER_TEMP's venv."""
    base = tmp_path_factory.mktemp("action")
    r = Runner(base / "workspace", base / "runner-temp")
    r.workspace.mkdir()
    r.temp.mkdir()
    venv = r.temp / "renderer-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # Seed: the new environment sees this run's packages (pip, hatchling, the dependencies)
    # as a plain path, so pip finds everything installed and needs no index.
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    site.mkdir(parents=True, exist_ok=True)
    (site / "seed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # (pip reads PIP_NO_BUILD_ISOLATION inverted: "0" turns build isolation off.)
    offline = {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}
    status, log, _ = run_step(
        r, "Install renderer", {"template": "-", "python": sys.executable}, offline
    )
    assert status == 0, log
    assert (venv / "bin" / "renderer").is_file()
    assert (r.temp / "github_path").read_text().strip() == str(venv / "bin")
    return r


def _posts(workspace: Path, titles: dict[str, str]) -> None:
    posts = workspace / "posts"
    posts.mkdir(exist_ok=True)
    for slug, title in titles.items():
        (posts / f"{slug}.md").write_text(f"---\ntitle: {json.dumps(title)}\n---\nBody.\n")


def render(runner: Runner, **given: str) -> tuple[int, str, dict[str, str]]:
    inputs = {"template": "og.json", "data": "posts/*.md", "name": "{{ slug }}.png", **given}
    return run_step(runner, "Render", inputs)


def test_the_action_renders_one_card_per_post_then_only_new_ones(runner: Runner) -> None:
    ws = runner.workspace
    (ws / "og.json").write_text(json.dumps(TEMPLATE))
    _posts(ws, {"hello": "Hello", "world": "A longer title"})
    status, log, out = render(runner, vars="site=example.com")
    assert status == 0, log
    assert out == {"rendered": "2", "skipped": "0"}
    card = Image.open(ws / "og" / "hello.png").convert("RGB")
    assert card.size == (300, 150)
    assert card.getpixel((295, 5)) == (0x12, 0x34, 0x56)
    red_band = card.crop((10, 10, 150, 40)).getextrema()[0]
    assert isinstance(red_band, tuple)
    assert max(red_band) > 200  # the title's white ink
    assert (ws / "og" / ".renderer-manifest.jsonl").is_file()
    first = (ws / "og" / "hello.png").stat().st_mtime_ns
    # The next run finds the folder restored (actions/cache): nothing drawn.
    status, log, out = render(runner, vars="site=example.com")
    assert (status, out) == (0, {"rendered": "0", "skipped": "2"}), log
    _posts(ws, {"new": "A new post"})
    status, log, out = render(runner, vars="site=example.com")
    assert (status, out) == (0, {"rendered": "1", "skipped": "2"}), log
    assert (ws / "og" / "hello.png").stat().st_mtime_ns == first


def test_inputs_stay_values_and_failures_are_annotated(runner: Runner) -> None:
    ws = runner.workspace / "hostile"
    ws.mkdir()
    (ws / "og.json").write_text(json.dumps(TEMPLATE))
    _posts(ws, {"ok": "Fine"})
    (ws / "posts" / "bad.md").write_text("---\nsubtitle: no title here\n---\n")
    hostile = runner.workspace / "pwned"
    status, log, out = run_step(
        Runner(ws, runner.temp),
        "Render",
        {
            "template": "og.json",
            "data": "posts/*.md",
            "name": "{{ slug }}.png",
            "output": "cards",
            "vars": f"site=$(touch {hostile})\n",
        },
    )
    assert status == 1, log  # one row failed; the other was drawn
    assert out == {"rendered": "1", "skipped": "0"}
    assert not hostile.exists()
    assert (ws / "cards" / "ok.png").is_file()
    annotation = r"^::error file=og\.json::og\.json \(posts/bad\.md\): /components/0/text: "
    assert re.search(annotation + ".*'title' is missing", log, re.M), log


def test_no_matching_data_file_is_an_error(runner: Runner) -> None:
    status, log, _ = render(runner, data="nothing/*.md")
    assert status == 2
    assert "::error::renderer: no data file matches 'nothing/*.md'" in log


def test_the_readme_recipe_uses_this_action() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    recipe = readme[readme.index("## CI recipe") :].split("\n## ", 1)[0]
    workflow: dict[str, Any] = yaml.safe_load(recipe.split("```yaml\n", 1)[1].split("```", 1)[0])
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    (ours,) = [s for s in steps if str(s.get("uses", "")).split("@")[0].endswith("/renderer")]
    assert set(ours["with"]) <= set(ACTION["inputs"])
    assert {"template", "data", "output", "name"} <= set(ours["with"])
