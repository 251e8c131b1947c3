// Copies the non-TypeScript files a module loads at run time (its .proto schemas) next to the compiled code,
// so `path.join(__dirname, 'proto', name)` finds them both under jest (source) and from dist/. A `proto/` folder
// may sit at a module's top (protocol/proto) or in one of its sub-folders (broker/pulsar/proto).
const { cpSync, readdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const SKIP = new Set(['dist', 'node_modules', 'test', 'data']);

function copyProtoDirs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || (dir === root && SKIP.has(entry.name)))
      continue;
    const full = join(dir, entry.name);
    if (entry.name === 'proto') cpSync(full, join(root, 'dist', relative(root, full)), { recursive: true });
    else copyProtoDirs(full);
  }
}
copyProtoDirs(root);
