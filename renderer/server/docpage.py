"""`GET /`: one self-contained page that documents the endpoint and runs the example live.

The page's script only talks to its own origin (`connect-src 'self'`) and shows the result from a
`blob:` URL, so it needs a looser CSP than the strict one every other response carries.
"""

from __future__ import annotations

import html
import json

__all__ = ["DOC_CSP", "EXAMPLE", "doc_page"]

DOC_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

# Craftr's documented example, verbatim.
EXAMPLE = {
    "width": 1200,
    "height": 630,
    "background": "#ffffff",
    "components": [
        {
            "type": "text",
            "text": "Hello World",
            "fontSize": 48,
            "fontWeight": "700",
            "fontFamily": "Inter",
            "color": "#000000",
            "x": 600,
            "y": 315,
            "frameWidth": "fit",
        },
        {
            "type": "divider",
            "length": 1200,
            "width": "medium",
            "direction": "horizontal",
            "color": "#0070f3",
            "x": 0,
            "y": 0,
        },
    ],
}

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>renderer: POST /api/v1/image</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}
textarea{width:100%;height:18rem;font:13px ui-monospace,monospace}
code,pre{background:#f4f4f4;padding:.1em .3em}
img{max-width:100%;border:1px solid #ccc;margin-top:1rem}
#status{font-weight:600}
</style></head><body>
<h1>renderer &mdash; <code>POST /api/v1/image</code></h1>
<p>A local drop-in for Craftr.art's image API. Send a card as JSON; <code>Accept</code>
(or <code>?format=</code>) picks SVG (default), PNG, JPEG, WEBP, TIFF, AVIF, or
<code>application/json</code> for <code>{"image": {"id", "width", "height", "content_type",
"base64_data"}}</code>. Errors are <code>{"error": ..., "details": ...}</code>.
Schema: <a href="/openapi.json">/openapi.json</a>. Health: <a href="/healthz">/healthz</a>.</p>
<pre>curl -X POST http://HOST/api/v1/image -H 'Content-Type: application/json' \\
  -H 'Accept: image/png'__AUTH_CURL__ -d @card.json -o card.png</pre>
<h2>Batch</h2>
<p><code>POST /api/v1/batch</code> with <code>{"items": [card, ...]}</code> or
<code>{"template": card, "rows": [{...}, ...]}</code> (and optionally <code>format</code>,
<code>scale</code>, <code>quality</code>, <code>callback_url</code>,
<code>output: "storage://NAME/path/"</code>, <code>name: "{{ slug }}.png"</code>) answers
<code>202</code> with a job id; <code>GET /api/v1/jobs/{id}</code> reports its progress and each
item's image (base64, or its storage path) or error.</p>
<h2>Try it</h2>
__KEY_FIELD__
<label>Format <select id="fmt"><option>image/svg+xml</option><option>image/png</option>
<option>image/jpeg</option><option>image/webp</option><option>image/avif</option></select></label>
<textarea id="spec">__EXAMPLE__</textarea>
<button id="go">Render</button> <span id="status"></span>
<div><img id="out" alt=""></div>
<script>
document.getElementById('go').onclick = async () => {
  const status = document.getElementById('status');
  const key = document.getElementById('key');
  const headers = {'Content-Type': 'application/json',
                   'Accept': document.getElementById('fmt').value};
  if (key && key.value) headers['Authorization'] = 'Bearer ' + key.value;
  status.textContent = 'rendering…';
  const r = await fetch('/api/v1/image', {method: 'POST', headers,
                        body: document.getElementById('spec').value});
  if (!r.ok) { status.textContent = r.status + ' ' + await r.text(); return; }
  document.getElementById('out').src = URL.createObjectURL(await r.blob());
  status.textContent = r.status + ' ' + r.headers.get('Content-Type');
};
</script>
</body></html>
"""


def doc_page(auth_required: bool) -> str:
    key_field = (
        '<p><label>API key <input id="key" type="password" autocomplete="off"></label></p>'
        if auth_required
        else ""
    )
    auth_curl = " \\\n  -H 'Authorization: Bearer YOUR_KEY'" if auth_required else ""
    return (
        _PAGE.replace("__EXAMPLE__", html.escape(json.dumps(EXAMPLE, indent=2)))
        .replace("__KEY_FIELD__", key_field)
        .replace("__AUTH_CURL__", auth_curl)
    )
