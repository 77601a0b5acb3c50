"""Batch rendering: many specs, or one template and many rows, to a folder of images.

Modules, lightest first: `command` (argparse only, imported by `renderer --help`), `rows` (data
files to variables), `plan` (specs and rows to jobs with output paths and cache keys), `manifest`
(the incremental record in OUT_DIR), `work` (what runs in a worker process), `executors` (in
process, a local process pool, or Dask), `progress`, and `runner` (the command's engine).
Nothing here is imported by `import renderer`; `renderer.render_many` imports `work` and
`executors` when first called.
"""

from __future__ import annotations
