"""Social cards for the site generators Python projects document themselves with.

`mkdocs` is a MkDocs plugin (entry point `renderer` under `mkdocs.plugins`), `sphinx` a Sphinx
extension (also importable as `renderer.sphinx`); `cards` is what both share. Nothing here is
imported by `import renderer`, and each module imports its generator only when it is used, so
neither is a dependency of the engine (`pip install "renderer[mkdocs]"` or `"renderer[sphinx]"`).
"""

from __future__ import annotations
