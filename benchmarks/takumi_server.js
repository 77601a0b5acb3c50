// The server a web-app user would run instead of `renderer serve`: a small Node HTTP server
// around Takumi. POST /api/v1/image with a card spec (JSON) answers the PNG; GET /healthz
// answers ok. Takumi, its fonts and the spec -> Takumi tree translation are the peer harness's
// (the same that `takumi.js` times there), loaded from the folder RENDERER_PEERS names: a copy
// of ../shared/peers after its `bash setup.sh`. Nothing of it is in this repository.
// Images a card names are read once from CARDS_DIR (as the harness reads them).
//
// Usage: RENDERER_PEERS=/path/to/peers CARDS_DIR=/path/to/cards node benchmarks/takumi_server.js PORT
'use strict';
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');

const PEERS = process.env.RENDERER_PEERS;
if (!PEERS) {
  console.error('RENDERER_PEERS must name the peer harness folder (with node_modules)');
  process.exit(2);
}
const c = require(path.join(PEERS, 'lib', 'common.js'));
const { Renderer } = require(path.join(PEERS, 'node_modules', '@takumi-rs', 'core'));

const images = new Map(); // src -> { src, data }, read on first use

function imagesOf(spec) {
  const used = [];
  for (const component of spec.components || []) {
    if (component.type !== 'image') continue;
    if (!images.has(component.src)) {
      const data = fs.readFileSync(path.join(c.CARDS_DIR, component.src));
      images.set(component.src, { src: component.src, data });
    }
    used.push(images.get(component.src));
  }
  return used;
}

async function main() {
  const port = parseInt(process.argv[2] || '0', 10);
  const renderer = new Renderer();
  for (const f of c.loadFonts()) {
    await renderer.registerFont({ name: f.name, data: f.data, weight: f.weight, style: f.style });
  }
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.end('ok');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/api/v1/image') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const tree = c.toTakumi(c.cardToTree(spec));
        const png = await renderer.render(tree, {
          width: spec.width, height: spec.height, format: 'png', images: imagesOf(spec),
        });
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length });
        res.end(png);
      } catch (e) {
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(String(e));
      }
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`listening ${server.address().port}\n`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
