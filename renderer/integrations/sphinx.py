"""The Sphinx extension `renderer.sphinx`: a social card per page, beside the page, with its
meta tags.

    extensions = ["renderer.sphinx"]              # the built-in card, no configuration needed
    renderer_site_url = "https://docs.example.com/"  # absolute og:image URLs
    renderer_card_template = "_templates/card.json"  # optional: a spec with {{ title }}, ...
    renderer_card_format = "png"                    # png, jpeg or webp
    renderer_card_variables = {"accent": "#f97316"}  # defaults; a page's values override them
    renderer_card_cache_dir = None                  # default: <doctreedir>/renderer-cards

Each page's card gets `title` (the document title), `description` (a `:description:` field at
the top of the document, else its first paragraph, up to 300 characters), `site_name`
(`renderer_site_name`, else `project`), `site_url`, `url` (the page's URL) and every scalar
field of the page's metadata. It is written beside the page (`guide/install.html` →
`guide/install.og.png`), and the page's `metatags` get `og:image`, `og:image:type`,
`og:image:width`, `og:image:height`, `og:image:alt`, `twitter:card` and `twitter:image`.

With `sphinxext-opengraph` (`sphinxext.opengraph`) also enabled, it keeps its `og:title`,
`og:description`, `og:url` and the rest, and this extension supplies the image: its own
matplotlib cards are switched off; an `og:image` (and its `og:image:alt`) it took from
`ogp_image` is replaced by the page's card, whose alt text is the page title, so a page never
has two images; and a page that names its own image with an `:og:image:` field keeps it and gets
no card. `renderer_site_url` defaults to `ogp_site_url`, then to `html_baseurl`.

Cards are kept under the batch manifest in `renderer_card_cache_dir`, so an unchanged page's
card is not drawn again (Sphinx does not even write pages it did not rebuild; a page rebuilt for
other reasons keeps its card and the card's modification time). Pages are handled where Sphinx
writes them, so `sphinx-build -j N` draws in parallel. A page whose card cannot be drawn gets a
warning with its location (`-W` makes it an error) and no tags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.config import Config
from sphinx.util import logging

from .. import __version__
from ..encode import Format
from ..errors import RenderError
from .cards import IMAGE_TAGS, CardMaker, card_path, has_tag, meta_tags, plain_text, strip_tags

__all__ = ["setup"]

log = logging.getLogger(__name__)

_OWN_IMAGE = "renderer_page_image"  # context key: the page chose its own og:image
_makers: dict[int, CardMaker] = {}  # per Sphinx application, by id: forked writers inherit it
_REPLACED = (*IMAGE_TAGS, "og:image:alt", "twitter:card", "twitter:image")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("renderer_site_url", None, "html", types=frozenset({str, type(None)}))
    app.add_config_value("renderer_site_name", None, "html", types=frozenset({str, type(None)}))
    app.add_config_value("renderer_card_template", None, "html", types=frozenset({str, type(None)}))
    app.add_config_value("renderer_card_format", "png", "html", types=frozenset({str}))
    app.add_config_value("renderer_card_variables", {}, "html", types=frozenset({dict}))
    app.add_config_value("renderer_card_cache_dir", None, "", types=frozenset({str, type(None)}))
    app.connect("config-inited", _quiet_opengraph_cards)
    app.connect("builder-inited", _start)
    app.connect("html-page-context", _note_own_image, priority=400)  # before sphinxext-opengraph
    app.connect("html-page-context", _page, priority=600)  # after it
    app.connect("build-finished", _finish)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}


def _quiet_opengraph_cards(app: Sphinx, config: Config) -> None:
    """sphinxext-opengraph draws its own cards with matplotlib where it can: not beside ours."""
    if "ogp_social_cards" in config:
        config.ogp_social_cards = {**(config.ogp_social_cards or {}), "enable": False}


def _start(app: Sphinx) -> None:
    _makers.pop(id(app), None)
    builder = app.builder
    if not isinstance(builder, StandaloneHTMLBuilder) or builder.name in ("epub", "singlehtml"):
        return  # html and dirhtml: a page per document, each with its own card
    config = app.config
    cache = Path(config.renderer_card_cache_dir or Path(app.doctreedir) / "renderer-cards")
    if not cache.is_absolute():
        cache = Path(app.confdir) / cache
    template = config.renderer_card_template
    try:
        _makers[id(app)] = CardMaker(
            cache,
            Path(app.confdir) / template if template else None,
            format=config.renderer_card_format,
            variables=config.renderer_card_variables,
        )
    except (RenderError, ValueError) as e:
        problems = "; ".join(str(i) for i in getattr(e, "issues", ())) or str(e)
        log.warning(
            f"renderer: no social cards: the card template {template} is not valid: {problems}"
        )


def _note_own_image(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """sphinxext-opengraph removes an `:og:image:` field as it reads it: note it first."""
    fields = context.get("meta") or {}
    context[_OWN_IMAGE] = "og:image" in fields


def _page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    maker, builder = _makers.get(id(app)), app.builder
    if maker is None or doctree is None or context.get(_OWN_IMAGE):
        return
    assert isinstance(builder, StandaloneHTMLBuilder)  # as _start checked
    tags = str(context.get("metatags", ""))
    ours = "sphinxext.opengraph" in app.extensions
    if has_tag(tags, "og:image") and not ours:
        return  # a theme or another extension chose the image
    output = Path(builder.get_outfilename(pagename)).relative_to(app.outdir).as_posix()
    title = _title(app, pagename, context)
    rel = card_path(output, Format.parse(app.config.renderer_card_format))
    try:
        card = maker.make(
            rel, _values(app, pagename, doctree, title), str(app.env.doc2path(pagename))
        )
    except RenderError as e:
        problems = "; ".join(str(i) for i in e.issues) or str(e)
        log.warning(f"no social card: {problems}", location=pagename)
        return
    maker.publish(card, Path(app.outdir))
    site_url = app.config.renderer_site_url or _opengraph_url(app) or app.config.html_baseurl
    if ours:
        tags = strip_tags(tags, _REPLACED)  # an ogp_image and its alt: the card replaces them
    new = meta_tags(card, output, site_url or None, title)
    context["metatags"] = tags + "".join(t + "\n" for t in new)


def _opengraph_url(app: Sphinx) -> str:
    return str(getattr(app.config, "ogp_site_url", "") or "")


def _title(app: Sphinx, pagename: str, context: dict[str, Any]) -> str:
    node = app.env.titles.get(pagename)
    text = node.astext() if node is not None else str(context.get("title", ""))
    return plain_text(text)


def _values(app: Sphinx, pagename: str, doctree: nodes.document, title: str) -> dict[str, object]:
    metadata = dict(app.env.metadata.get(pagename, {}))
    description = metadata.get("description") or _first_paragraph(doctree)
    return {
        **metadata,
        "title": title,
        "description": plain_text(str(description), 300),
        "site_name": app.config.renderer_site_name or app.config.project,
        "site_url": app.config.renderer_site_url or _opengraph_url(app) or "",
        "url": app.builder.get_target_uri(pagename),
    }


def _first_paragraph(doctree: nodes.document) -> str:
    """The first paragraph of the body: not a title, a field list or an admonition's."""
    for paragraph in doctree.findall(nodes.paragraph):
        if isinstance(paragraph.parent, nodes.section | nodes.document):
            return str(paragraph.astext())
    return ""


def _finish(app: Sphinx, exception: BaseException | None) -> None:
    maker = _makers.pop(id(app), None)
    if maker is not None and exception is None:
        drawn = maker.finish()
        log.info(f"renderer: {drawn} social cards drawn, {maker.kept} unchanged")
