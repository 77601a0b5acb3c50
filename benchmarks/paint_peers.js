// Times the peers on issue 14's reference cards (examples/hero.json, examples/photo-card.json):
// Satori (element tree -> SVG) + resvg (SVG -> PNG), and Takumi (node tree -> PNG). The peers
// take CSS, not our JSON, so `paint_peers.py` writes each card once as the equivalent CSS tree
// (gradients, shadows, rotation, stroke, filter, the QR code as an image) and hands this script
// a folder with `trees.json` and the images the trees name. Satori, resvg, Takumi and the fonts
// are the peer harness's, loaded from the folder RENDERER_PEERS names (a copy of
// ../shared/peers after its `bash setup.sh`); nothing of it is in this repository.
//
// Usage: RENDERER_PEERS=/path/to/peers ITER=30 node benchmarks/paint_peers.js FOLDER
// Prints one JSON line per (peer, card), as the harness's runners do; PNGs go to FOLDER.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const PEERS = process.env.RENDERER_PEERS;
if (!PEERS) {
  console.error('RENDERER_PEERS must name the peer harness folder (with node_modules)');
  process.exit(2);
}
const c = require(path.join(PEERS, 'lib', 'common.js'));
const modules = path.join(PEERS, 'node_modules');
const folder = path.resolve(process.argv[2]);
const cards = JSON.parse(fs.readFileSync(path.join(folder, 'trees.json'), 'utf8'));

function images(tree, found = {}) {
  if (tree.tag === 'img' && !found[tree.src]) {
    const data = fs.readFileSync(path.join(folder, tree.src));
    const mime = data[0] === 0xff && data[1] === 0xd8 ? 'image/jpeg' : 'image/png';
    found[tree.src] = { data, dataUri: `data:${mime};base64,${data.toString('base64')}` };
  }
  for (const child of tree.children || []) images(child, found);
  return found;
}

async function main() {
  const satori = (await import(path.join(modules, 'satori', 'dist', 'index.js'))).default;
  const { Resvg } = require(path.join(modules, '@resvg', 'resvg-js'));
  const { Renderer } = require(path.join(modules, '@takumi-rs', 'core'));
  const fonts = c.loadFonts();
  const takumi = new Renderer();
  for (const f of fonts) {
    await takumi.registerFont({ name: f.name, data: f.data, weight: f.weight, style: f.style });
  }
  const satoriFonts = fonts.map((f) => ({ name: f.name, data: f.data, weight: f.weight, style: f.style }));
  const resvgOpts = { fitTo: { mode: 'original' }, font: { loadSystemFonts: false } };
  for (const [card, { width, height, tree, approx }] of Object.entries(cards)) {
    const imgs = images(tree);
    const list = Object.entries(imgs).map(([src, v]) => ({ src, data: v.data }));
    const toSvg = () => satori(c.toSatori(tree, imgs), { width, height, fonts: satoriFonts });
    const resvg = async () => new Resvg(await toSvg(), resvgOpts).render().asPng();
    const r = await c.bench(resvg);
    fs.writeFileSync(path.join(folder, `satori-resvg-${card}.png`), r.out);
    c.report({ peer: 'satori-resvg', card, median_ms: r.median_ms, p90_ms: r.p90_ms, png_bytes: r.out.length, approx: approx.satori });
    const t = await c.bench(() => takumi.render(c.toTakumi(tree), { width, height, format: 'png', images: list }));
    fs.writeFileSync(path.join(folder, `takumi-${card}.png`), t.out);
    c.report({ peer: 'takumi', card, median_ms: t.median_ms, p90_ms: t.p90_ms, png_bytes: t.out.length, approx: approx.takumi });
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
