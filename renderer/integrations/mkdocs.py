"""The MkDocs plugin `renderer`: a social card per page, beside the page, with its meta tags.

    plugins:
      - renderer                 # the built-in card, no configuration needed
      - renderer:
          template: og/card.json # a spec with {{ title }}, {{ description }}, {{ site_name }}, ...
          format: png            # png, jpeg or webp
          cache_dir: .cache/renderer
          variables: {accent: "#f97316"}

Each page's card gets `title` (the page title), `description` (front matter, else the site's
`site_description`), `site_name`, `site_url`, `url` (the page's URL), every scalar front-matter
value, and `variables` from the configuration (defaults, which a page's values override). It is
written to `<page>.og.png` beside the page (`guide/index.html` → `guide/index.og.png`), and the
page's `<head>` gets `og:image` (absolute when `site_url` is set), `og:image:type`,
`og:image:width`, `og:image:height`, `og:image:alt`, `twitter:card` and `twitter:image`. A page
whose head already has an `og:image` (a theme override, another plugin) is left alone.

Cards are drawn in the build process and kept in `cache_dir` (relative to `mkdocs.yml`) under
the batch manifest, so a page whose card inputs did not change is not drawn again and its card
keeps its modification time; `mkdocs serve` rebuilds reuse them too, and a custom template is
watched. A page whose card cannot be drawn (a variable its template needs is missing) gets a
warning naming the page and the variable, and no tags; `mkdocs build --strict` fails on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.pages import Page

from ..encode import Format
from ..errors import RenderError
from .cards import CardMaker, card_path, has_tag, insert_tags, meta_tags, plain_text

__all__ = ["RendererConfig", "RendererPlugin"]

log = get_plugin_logger("renderer")


class RendererConfig(base.Config):  # type: ignore[no-untyped-call]
    enabled = c.Type(bool, default=True)
    template = c.Optional(c.File(exists=True))
    format = c.Choice(("png", "jpeg", "jpg", "webp"), default="png")
    cache_dir = c.Type(str, default=".cache/renderer")
    variables = c.Type(dict, default={})


class RendererPlugin(BasePlugin[RendererConfig]):  # type: ignore[no-untyped-call]
    def __init__(self) -> None:
        self.maker: CardMaker | None = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        self.maker = None
        if not self.config.enabled:
            return config
        root = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
        cache = root / self.config.cache_dir  # an absolute cache_dir stays absolute
        template = Path(self.config.template) if self.config.template else None
        try:
            self.maker = CardMaker(
                cache, template, format=self.config.format, variables=self.config.variables
            )
        except RenderError as e:
            problems = "; ".join(str(i) for i in e.issues) or str(e)
            msg = f"renderer: the card template {template} is not valid: {problems}"
            raise PluginError(msg) from None
        return config

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        maker = self.maker
        dest = page.file.dest_uri
        if maker is None or not dest.endswith(".html"):
            return output
        head = output.split("</head>", 1)[0]
        if has_tag(head, "og:image"):
            return output  # the theme or the page chose its own image
        title = plain_text(page.title or config.site_name)
        values = {**page.meta, **_page_values(page, config, title)}
        rel = card_path(dest, Format.parse(self.config.format))
        try:
            card = maker.make(rel, values, page.file.src_uri)
        except RenderError as e:
            problems = "; ".join(str(i) for i in e.issues) or str(e)
            log.warning(f"{page.file.src_uri}: no social card: {problems}")
            return output
        maker.publish(card, Path(config.site_dir))
        return insert_tags(output, meta_tags(card, dest, config.site_url, title))

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self.maker is not None:
            drawn = self.maker.finish()
            log.info(f"{drawn} social cards drawn, {self.maker.kept} unchanged")

    def on_serve(self, server: Any, /, *, config: MkDocsConfig, builder: Any) -> Any:
        if self.config.template:
            server.watch(self.config.template)  # editing the template rebuilds
        return server


def _page_values(page: Page, config: MkDocsConfig, title: str) -> dict[str, object]:
    description = page.meta.get("description") or config.site_description or ""
    return {
        "title": title,
        "description": plain_text(str(description), 300),
        "site_name": config.site_name,
        "site_url": config.site_url or "",
        "url": page.canonical_url or page.url,
    }
