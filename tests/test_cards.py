"""`renderer.integrations.cards`, what the MkDocs and Sphinx integrations share (issue 18): the
built-in template in step with its golden case, card paths, text from markup, and meta tags
that escape what pages put in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from renderer.encode import Format
from renderer.errors import SpecError
from renderer.integrations.cards import (
    DEFAULT_STYLE,
    DEFAULT_TEMPLATE,
    CardMaker,
    card_path,
    has_tag,
    insert_tags,
    meta_tags,
    plain_text,
    strip_tags,
)
from renderer.templates import fill

CASE = Path(__file__).parent / "cases" / "integrations-card.json"


def test_the_golden_case_is_the_built_in_template_filled() -> None:
    """golden_images/integrations-card.png guards how the built-in card looks: its case must be
    the template as shipped (regenerate the case, then look at the golden, when it changes)."""
    case = json.loads(CASE.read_text("utf-8"))
    values = {
        **DEFAULT_STYLE,
        "site_name": "renderer",
        "title": case["components"][2]["text"],
        "description": case["components"][3]["text"],
    }
    assert fill(json.loads(DEFAULT_TEMPLATE.read_text("utf-8")), values) == case


@pytest.mark.parametrize(
    ("page", "card"),
    [
        ("index.html", "index.og.png"),
        ("guide/install/index.html", "guide/install/index.og.png"),
        ("guide/install.html", "guide/install.og.png"),
    ],
)
def test_a_card_sits_beside_its_page(page: str, card: str) -> None:
    assert card_path(page, Format.PNG) == card
    assert card_path(page, Format.JPEG) == card.replace(".png", ".jpg")


def test_plain_text_drops_markup_and_clips_at_a_word() -> None:
    assert plain_text("Install &amp; <code>run</code>\n  it") == "Install & run it"
    assert plain_text("one two three four", 9) == "one two…"
    assert plain_text("x" * 20, 5) == "xxxxx…"


def test_meta_tags_escape_values_and_resolve_urls() -> None:
    from renderer.integrations.cards import Card

    card = Card("guide/a.og.png", 1200, 630, "image/png", drawn=True)
    tags = meta_tags(card, "guide/a.html", "https://x.test/docs", 'A "quoted" <b>&</b>')
    assert tags[0] == '<meta property="og:image" content="https://x.test/docs/guide/a.og.png" />'
    assert "&quot;quoted&quot; &lt;b&gt;&amp;&lt;/b&gt;" in tags[4]
    relative = meta_tags(card, "guide/a.html", None, "t")
    assert relative[0] == '<meta property="og:image" content="a.og.png" />'


def test_tags_are_found_replaced_and_inserted_in_the_head() -> None:
    head = '<meta property="og:image" content="x"/>\n<meta name="twitter:card" content="y">\n'
    assert has_tag(head, "og:image")
    assert not has_tag(head, "og:image:alt")
    assert strip_tags(head, ("og:image", "twitter:card")) == ""
    page = "<html><head><title>t</title></HEAD><body></body></html>"
    assert insert_tags(page, ["<meta a>"]) == (
        "<html><head><title>t</title>  <meta a>\n</HEAD><body></body></html>"
    )


def test_a_page_lacking_a_variable_fails_alone_and_names_it(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(
        json.dumps(
            {
                "width": 40,
                "height": 20,
                "background": "{{ background }}",
                "components": [{"type": "text", "text": "{{ author }}", "fontSize": 8}],
            }
        )
    )
    maker = CardMaker(tmp_path / "cache", template)
    with pytest.raises(SpecError, match="'author' is missing") as e:
        maker.make("a.og.png", {"title": "x"}, "a.md")
    assert e.value.issues[0].pointer == "/components/0/text"
    card = maker.make("b.og.png", {"author": "Ada", "tags": ["x", "y"], "n": 3}, "b.md")
    assert card.drawn
    assert (card.width, card.height) == (40, 20)
    maker.publish(card, tmp_path / "site")
    im = Image.open(tmp_path / "site" / "b.og.png").convert("RGB")
    assert im.getpixel((39, 19)) == (0x0F, 0x17, 0x2A)  # the default `background`
    assert maker.finish() == 1
