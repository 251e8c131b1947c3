#!/usr/bin/env -S node --single-threaded-gc --max-semi-space-size=32 --initial-old-space-size=128
'use strict';
// The `ledgerline` command. The TypeScript sources are compiled to dist/ by `npm run build`
// (npm start and npm test build first). The V8 flags above, also in `npm start`, are cli/node-flags.ts's (why
// each, and what it measured): the collector on the main thread only, a young generation of up to 32 MB, and an
// old generation marked only once it reaches 128 MB.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('ledgerline: not built yet; run `npm run build` first\n');
  process.exit(1);
}
// A reader that goes away (`ledgerline shell ... | head`) makes writes fail with EPIPE: not the command's failure.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

require(main)
  .main(process.argv)
  .then((code) => exitWhenWritten(code));

/**
 * Exits once what the command printed has left the process, then at once: a one-shot command is done, and a client
 * library's idle sockets or timers must not keep it alive. Writes to a pipe are asynchronous, so exiting straight
 * away cut off output beyond what the pipe held (a long `shell readledger` piped to another program lost its end).
 * A write's callback runs once it and everything before it is written; a stream that failed (EPIPE) closes instead.
 */
function exitWhenWritten(code) {
  let waiting = 2;
  const written = () => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.destroyed) {
      written();
      continue;
    }
    let done = false;
    const settled = () => {
      if (done) return;
      done = true;
      written();
    };
    stream.once('close', settled);
    stream.write('', settled);
  }
}
