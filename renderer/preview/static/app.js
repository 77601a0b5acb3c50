// The preview and playground page (renderer/preview/page.py): one script, two sources of frames.
//
// A frame is what the page shows for one render:
//   {image: {content_type, base64_data} | null, stale, card: {width, height} | null,
//    document, report: {components: [...]} | null, issues: [{pointer, message}], renderMs,
//    rows: [{label, problem}] | null, row, version}
// `renderer preview` answers frames from GET /api/frame and announces changes of the files it
// watches on GET /api/events (server-sent events). The playground builds frames from
// POST /api/v1/image?report=1, the endpoint every client uses, with the same key.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const mode = document.body.dataset.mode;
  // schemas/card.schema.json: the default `maxFontSize` of `fontSize: "auto"` (a test keeps the
  // two equal).
  const DEFAULT_MAX_FONT_SIZE = 200;
  const EXTENSIONS = {png: "png", svg: "svg", jpeg: "jpg", webp: "webp", tiff: "tiff", avif: "avif", pdf: "pdf"};
  const ui = {
    image: $("image"), boxes: $("boxes"), frame: $("frame"), status: $("status"),
    issues: $("issues"), notes: $("notes"), stale: $("stale"), unshown: $("unshown"),
    format: $("format"), scale: $("scale"), size: $("size"), overlay: $("overlay"),
    download: $("download"),
  };
  const state = {shown: null, url: null, seq: 0};

  // --- JSON pointers ---------------------------------------------------------------------------

  function resolve(doc, pointer) {
    let node = doc;
    for (const raw of pointer.split("/").slice(1)) {
      const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (node === null || typeof node !== "object" || !(part in node)) return undefined;
      node = node[part];
    }
    return node;
  }

  // The [start, end) characters of the value at `pointer` in JSON `text` (with its key), or of
  // the deepest part of the path that exists: where an issue's pointer is in the editor.
  function locate(text, pointer) {
    let i = 0;
    const ws = () => { while (i < text.length && " \t\r\n".includes(text[i])) i++; };
    const skipString = () => {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      i++;
    };
    const skipValue = () => {
      ws();
      if (text[i] === '"') return skipString();
      if (text[i] !== "{" && text[i] !== "[") {
        while (i < text.length && !",}] \t\r\n".includes(text[i])) i++;
        return;
      }
      for (let depth = 0; i < text.length; ) {
        const c = text[i];
        if (c === '"') { skipString(); continue; }
        if (c === "{" || c === "[") depth++;
        if (c === "}" || c === "]") depth--;
        i++;
        if (depth === 0) return;
      }
    };
    const member = (part) => {  // at "{": move to the value of key `part`; its key's start
      for (i++; ; ) {
        ws();
        if (text[i] !== '"') return -1;
        const start = i;
        skipString();
        let key = null;
        try { key = JSON.parse(text.slice(start, i)); } catch (e) { return -1; }
        ws(); i++; ws();  // the colon
        if (key === part) return start;
        skipValue(); ws();
        if (text[i] !== ",") return -1;
        i++;
      }
    };
    const element = (n) => {  // at "[": move to element n; its start
      for (let k = 0, first = true; ; k++, first = false) {
        i++; ws();
        if (first && text[i] === "]") return -1;
        if (k === n) return i;
        skipValue(); ws();
        if (text[i] !== ",") return -1;
      }
    };
    let found = [0, text.length];
    ws();
    for (const raw of pointer.split("/").slice(1)) {
      const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      const start = text[i] === "{" ? member(part)
        : text[i] === "[" && /^\d+$/.test(part) ? element(Number(part)) : -1;
      if (start < 0) return found;
      const at = i;
      skipValue();
      found = [start, i];
      i = at;
    }
    return found;
  }

  // --- the overlay -----------------------------------------------------------------------------

  // Every entry with a pointer and a box, at any depth of the report (nested stacks list their
  // children; the overlay draws whatever the report lists).
  function entries(report) {
    const out = [];
    const walk = (node) => {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (node === null || typeof node !== "object") return;
      if (typeof node.pointer === "string" && node.box) out.push(node);
      for (const value of Object.values(node)) if (typeof value === "object") walk(value);
    };
    walk(report ? report.components : []);
    return out;
  }

  // What the report says went wrong with one entry, in its own words.
  function flags(entry, doc) {
    const out = [];
    if (entry.clamped) out.push(["clamped", "the text did not fit and was cut"]);
    if (entry.overflow) out.push(["overflow", "a line is wider than its frame"]);
    if (entry.missing && entry.missing.length) {
      const named = entry.missing.map((c) => `${c} (U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")})`);
      out.push(["missing", "no bundled font has " + named.join(", ")]);
    }
    if (entry.placeholder) {
      out.push(["placeholder", (entry.error && entry.error.message) || "the image failed"]);
    }
    if (entry.offCanvas) out.push(["offCanvas", "wholly off the canvas, so not drawn"]);
    const component = doc ? resolve(doc, entry.pointer) : undefined;
    if (entry.shrunk || (component && component.fontSize === "auto" &&
        typeof entry.fontSize === "number")) {
      const max = (component && component.maxFontSize) || DEFAULT_MAX_FONT_SIZE;
      if (entry.shrunk || entry.fontSize < max) {
        out.push(["shrunk", `fontSize "auto" chose ${entry.fontSize} px (at most ${max})`]);
      }
    }
    return out;
  }

  function percent(value, whole) { return (100 * value / whole) + "%"; }

  function drawBoxes(frame) {
    ui.boxes.replaceChildren();
    ui.notes.replaceChildren();
    if (!frame.report || !frame.card) return;
    const {width, height} = frame.card;
    for (const entry of entries(frame.report)) {
      const found = flags(entry, frame.document);
      const box = document.createElement("div");
      box.className = found.length ? "box flagged" : "box";
      box.dataset.pointer = entry.pointer;
      box.style.left = percent(entry.box.x, width);
      box.style.top = percent(entry.box.y, height);
      box.style.width = percent(entry.box.width, width);
      box.style.height = percent(entry.box.height, height);
      const label = document.createElement("span");
      label.textContent = [entry.pointer, ...found.map((f) => f[0])].join(" · ");
      box.title = [entry.pointer, ...found.map((f) => `${f[0]}: ${f[1]}`)].join("\n");
      box.append(label);
      ui.boxes.append(box);
      if (found.length) {
        ui.notes.append(item(entry.pointer, found.map((f) => `${f[0]}: ${f[1]}`).join("; ")));
      }
    }
  }

  // --- showing a frame -------------------------------------------------------------------------

  function bytesOf(base64) {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function item(pointer, message) {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = pointer || "/";
    li.append(code, document.createTextNode(message));
    li.dataset.pointer = pointer;
    return li;
  }

  function showImage(frame) {
    if (!frame.image) return;
    const type = frame.image.content_type;
    const blob = new Blob([bytesOf(frame.image.base64_data)], {type});
    if (state.url) URL.revokeObjectURL(state.url);
    state.url = URL.createObjectURL(blob);
    ui.image.src = state.url;
    ui.image.hidden = false;
    ui.download.href = state.url;
    const format = type.replace("image/", "").replace("application/", "").replace("+xml", "");
    ui.download.download = "card." + (EXTENSIONS[format] || format);
    ui.download.hidden = false;
  }

  function show(frame) {
    if (frame.image) {
      showImage(frame);
      state.shown = frame;
    }
    const drawn = frame.image ? frame : state.shown;
    ui.image.classList.toggle("stale", Boolean(frame.stale || !frame.image));
    ui.stale.hidden = !(frame.issues.length && drawn);
    ui.issues.replaceChildren(...frame.issues.map((i) => item(i.pointer, i.message)));
    if (drawn) drawBoxes(frame.image ? frame : drawn);
    applyView();
    const card = drawn && drawn.card ? `${drawn.card.width}×${drawn.card.height}` : "";
    const time = typeof frame.renderMs === "number" ? `rendered in ${frame.renderMs.toFixed(1)} ms` : "";
    ui.status.classList.toggle("bad", frame.issues.length > 0);
    ui.status.textContent = frame.issues.length
      ? `${frame.issues.length} issue${frame.issues.length > 1 ? "s" : ""}`
      : [ui.format.value.toUpperCase(), card, time].filter(Boolean).join(" · ");
    document.body.dataset.rendered = String(++state.seq);  // for tests: a frame was shown
    if (mode === "playground") markLines(frame.issues);
  }

  function applyView() {
    const size = ui.size.value;
    const card = state.shown && state.shown.card;
    ui.frame.classList.toggle("fit", size === "fit");
    ui.image.style.width = size !== "fit" && card ? `${card.width * Number(size)}px` : "";
    ui.boxes.hidden = !ui.overlay.checked || !state.shown;
  }

  ui.image.addEventListener("error", () => {
    if (!ui.image.src) return;
    ui.unshown.hidden = false;
    ui.unshown.textContent = "This browser cannot display this format; Download has the file.";
  });
  ui.image.addEventListener("load", () => { ui.unshown.hidden = true; });
  ui.size.addEventListener("change", applyView);
  ui.overlay.addEventListener("change", applyView);

  // --- renderer preview ------------------------------------------------------------------------

  function startPreview() {
    const picker = $("rowpicker");
    const rows = $("row");
    let version = null;
    let pending = 0;
    const render = async () => {
      const ask = ++pending;
      const query = new URLSearchParams({
        row: rows.value || "0", format: ui.format.value, scale: ui.scale.value,
      });
      let frame;
      try {
        frame = await (await fetch("/api/frame?" + query)).json();
      } catch (e) {
        frame = {image: null, issues: [{pointer: "", message: "The preview server is not answering."}]};
      }
      if (ask !== pending) return;  // a newer request is on its way
      version = frame.version;
      fillRows(frame);
      show(frame);
    };
    const fillRows = (frame) => {
      picker.hidden = !frame.rows;
      if (!frame.rows) return;
      const labels = frame.rows.map((r, n) => `${n + 1}. ${r.label}${r.problem ? " (invalid)" : ""}`);
      const current = Array.from(rows.options, (o) => o.textContent);
      if (labels.join("\n") !== current.join("\n")) {
        rows.replaceChildren(...labels.map((text, n) => new Option(text, String(n))));
      }
      rows.value = String(frame.row);
      $("prev").disabled = frame.row <= 0;
      $("next").disabled = frame.row >= frame.rows.length - 1;
    };
    const step = (by) => {
      const next = Number(rows.value || 0) + by;
      if (next < 0 || next >= rows.options.length) return;
      rows.value = String(next);
      render();
    };
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    document.addEventListener("keydown", (e) => {  // ← and →, unless a control has the focus
      if (e.altKey || e.ctrlKey || e.metaKey || e.target.closest("input, select, textarea")) return;
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      step(e.key === "ArrowLeft" ? -1 : 1);
    });
    for (const control of [rows, ui.format, ui.scale]) control.addEventListener("change", render);
    const events = new EventSource("/api/events");
    events.addEventListener("message", (e) => {
      if (JSON.parse(e.data).version !== version) render();
    });
    render();
  }

  // --- the playground --------------------------------------------------------------------------

  const editor = $("spec");
  const gutter = $("gutter");

  function lineOf(text, offset) {
    let line = 1;
    for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") line++;
    return line;
  }

  function markLines(issues) {
    const text = editor.value;
    const bad = new Set(issues.map((i) => lineOf(text, locate(text, i.pointer)[0])));
    const count = text.split("\n").length;
    const lines = [];
    for (let n = 1; n <= count; n++) {
      const span = document.createElement("span");
      span.textContent = n + "\n";
      if (bad.has(n) && issues.length) span.className = "bad";
      lines.push(span);
    }
    gutter.replaceChildren(...lines);
    gutter.scrollTop = editor.scrollTop;
  }

  function jumpTo(pointer) {
    if (!editor || pointer === undefined) return;
    const [start, end] = locate(editor.value, pointer);
    editor.focus();
    editor.setSelectionRange(start, end);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 19;
    editor.scrollTop = Math.max(0, (lineOf(editor.value, start) - 4) * lineHeight);
  }

  function base64url(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  async function pipe(bytes, stream) {
    return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
  }

  // The fragment `#spec=z<base64url of deflate-raw>` (or `j<base64url>` where the browser has
  // no CompressionStream): the spec lives in the link, never on the server.
  async function pack(text) {
    const bytes = new TextEncoder().encode(text);
    if (typeof CompressionStream === "function") {
      return "z" + base64url(await pipe(bytes, new CompressionStream("deflate-raw")));
    }
    return "j" + base64url(bytes);
  }

  async function unpack(packed) {
    const bytes = bytesOf(packed.slice(1).replace(/-/g, "+").replace(/_/g, "/"));
    const raw = packed[0] === "z" ? await pipe(bytes, new DecompressionStream("deflate-raw")) : bytes;
    return new TextDecoder().decode(raw);
  }

  function issuesOf(status, body) {
    const details = body && body.details;
    if (details && Array.isArray(details.issues)) return details.issues;
    if (status === 401) return [{pointer: "", message: "This server needs an API key: enter it above."}];
    if (status === 403) return [{pointer: "", message: "The server does not know this API key."}];
    const error = (body && body.error) || "The server refused the request";
    const extra = details ? " " + JSON.stringify(details) : "";
    return [{pointer: "", message: `${status} ${error}${extra}`}];
  }

  async function playRender() {
    const text = editor.value;
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {  // not sent: half-typed JSON would only cost a request
      show({image: null, issues: [{pointer: "", message: "Invalid JSON: " + e.message}]});
      return;
    }
    const key = $("key");
    if (key && !key.value) {  // a request without the key would only be refused
      show({image: null, issues: [{pointer: "", message: "This server needs an API key: enter it above."}]});
      return;
    }
    const headers = {"Content-Type": "application/json", "Accept": "application/json"};
    if (key) headers["Authorization"] = "Bearer " + key.value;
    const query = new URLSearchParams({report: "1", format: ui.format.value, scale: ui.scale.value});
    const ask = ++state.asked;
    let frame;
    try {
      const response = await fetch("/api/v1/image?" + query, {method: "POST", headers, body: text});
      const body = await response.json().catch(() => null);
      const timing = /render;dur=([0-9.]+)/.exec(response.headers.get("Server-Timing") || "");
      frame = response.ok
        ? {image: body.image, report: body.report, document: doc, issues: [],
           card: {width: doc.width, height: doc.height}, renderMs: timing ? Number(timing[1]) : null}
        : {image: null, issues: issuesOf(response.status, body)};
    } catch (e) {
      frame = {image: null, issues: [{pointer: "", message: "The server is not answering."}]};
    }
    if (ask === state.asked) show(frame);
  }

  function startPlayground() {
    state.asked = 0;
    let timer = null;
    const soon = () => { clearTimeout(timer); timer = setTimeout(playRender, 300); };
    editor.addEventListener("input", () => { markLines([]); soon(); });
    editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });
    editor.addEventListener("keydown", (e) => {
      if (e.key !== "Tab" || e.shiftKey) return;
      e.preventDefault();
      editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
      soon();
    });
    for (const control of [ui.format, ui.scale]) control.addEventListener("change", playRender);
    const key = $("key");
    if (key) key.addEventListener("input", soon);  // not "change": a blur must not render again
    $("share").addEventListener("click", async () => {
      const link = new URL(location.href);
      link.hash = "spec=" + await pack(editor.value);
      history.replaceState(null, "", link.hash);
      $("sharebar").hidden = false;
      $("share-link").value = link.href;
      $("share-link").select();
      if (navigator.clipboard) navigator.clipboard.writeText(link.href).catch(() => {});
    });
    const restore = async () => {
      const match = /^#spec=([A-Za-z0-9_-]+)$/.exec(location.hash);
      if (match) {
        try {
          editor.value = await unpack(match[1]);
        } catch (e) {
          show({image: null, issues: [{pointer: "", message: "The link's spec could not be read."}]});
          return;
        }
      }
      markLines([]);
      playRender();
    };
    window.addEventListener("hashchange", restore);
    restore();
  }

  for (const list of [ui.issues, ui.notes]) {
    list.addEventListener("click", (e) => {
      const li = e.target.closest("li");
      if (li && mode === "playground") jumpTo(li.dataset.pointer);
    });
  }
  if (mode === "preview") startPreview();
  else startPlayground();
})();
