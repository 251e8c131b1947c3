#!/usr/bin/env node
'use strict';
// The `ledgerline` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (npm start and npm test build first).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('ledgerline: not built yet; run `npm run build` first\n');
  process.exit(1);
}
require(main)
  .main(process.argv)
  .then((code) => {
    // Exit now: a one-shot command is done, and a client library's idle sockets or timers must not keep it alive.
    process.exit(code);
  });
