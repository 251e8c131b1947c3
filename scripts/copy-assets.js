// Copies the non-TypeScript files a module loads at run time (its .proto schemas) next to the compiled code,
// so `path.join(__dirname, 'proto', name)` finds them both under jest (source) and from dist/.
const { cpSync, existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
for (const module of readdirSync(root)) {
  const protoDir = join(root, module, 'proto');
  if (module === 'dist' || module === 'node_modules' || !existsSync(protoDir)) continue;
  cpSync(protoDir, join(root, 'dist', module, 'proto'), { recursive: true });
}
