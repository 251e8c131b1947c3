export { LEDGERLINE_NODE_FLAGS } from './node-flags';
