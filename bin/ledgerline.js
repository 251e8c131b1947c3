#!/usr/bin/env -S node --single-threaded-gc
'use strict';
// The `ledgerline` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (npm start and npm test build first). V8 collects garbage on the main thread only (--single-threaded-gc, here
// and in `npm start`): its concurrent GC threads otherwise compete with the broker and bookies for the cores
// (Kafka produce on two cores: ~25% less CPU per message, bench/kafka-clients).
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
