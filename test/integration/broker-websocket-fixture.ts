/**
 * What the WebSocket integration tests connect to: the product's own `ledgerline standalone` process
 * (`wsStandalone`), or, for tests that set broker options, `wsBroker`: a BrokerService in this process on real
 * bookies (two `ledgerline bookie` processes on a real etcd, via the managed-ledger fixture) with the WebSocket
 * service on a node:http server on 127.0.0.1.
 */
import type { Server } from 'node:http';
import { silentLogger } from '../../common';
import { TempDirs } from '../harness';
import { BrokerService, WebSocketService, brokerConfig } from '../../broker';
import type { BrokerConfig } from '../../broker';
import { startUpgradeServer } from '../unit/broker/websocket/ws-client';
import { mlCluster } from './managed-ledger-fixture';
import type { MlCluster } from './managed-ledger-fixture';
import { http, requireBuilt, startStandalone } from './standalone-fixture';
import type { BrokerProcess, HttpReply } from './standalone-fixture';

export interface WsBroker {
  ml: MlCluster;
  service: BrokerService;
  webSocket: WebSocketService;
  /** ws://127.0.0.1:<port> */
  base: string;
}

/** For a describe block: sets up the broker before the tests and closes it after. */
export function wsBroker(ready: (broker: WsBroker) => void, overrides: Partial<BrokerConfig> = {}): void {
  let ml!: MlCluster;
  mlCluster(2, (started) => (ml = started));
  let server: Server | undefined;
  let service: BrokerService | undefined;
  let webSocket: WebSocketService | undefined;
  beforeAll(async () => {
    const config = brokerConfig({
      managedLedgerDefaultEnsembleSize: 2,
      managedLedgerDefaultWriteQuorum: 2,
      managedLedgerDefaultAckQuorum: 2,
      ...overrides,
    });
    service = new BrokerService({
      factory: ml.owner.factory,
      store: ml.owner.store,
      config,
      logger: silentLogger(),
    });
    await service.start();
    const ws = new WebSocketService({ broker: service, config, logger: silentLogger() });
    webSocket = ws;
    const started = await startUpgradeServer((req, socket, head) => ws.handleUpgrade(req, socket, head));
    server = started.server;
    ready({ ml, service, webSocket: ws, base: started.base });
  });
  afterAll(async () => {
    await webSocket?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
    await service?.close();
  });
}

export interface WsStandalone {
  /** ws://127.0.0.1:<port> */
  base: string;
  /** One admin REST call: `admin('POST', 'persistent/public/default/t/terminate')` is /admin/v2/persistent/.... */
  admin(method: string, path: string, body?: unknown): Promise<HttpReply>;
}

/**
 * For a describe block: `ledgerline standalone` (one bookie, embedded metadata store) on a temp data dir,
 * loopback only, started before the tests and stopped with SIGTERM after them.
 */
export function wsStandalone(ready: (broker: WsStandalone) => void): void {
  const dirs = new TempDirs();
  let broker: BrokerProcess | undefined;
  beforeAll(async () => {
    requireBuilt();
    const started = await startStandalone(dirs.make('ledgerline-ws-'));
    broker = started;
    ready({
      base: started.url.replace('http://', 'ws://'),
      admin: (method, path, body) => http(method, `${started.url}/admin/v2/${path}`, body),
    });
  });
  afterAll(async () => {
    await broker?.stop('SIGTERM');
    dirs.removeAll();
  });
}
