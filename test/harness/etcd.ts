import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './ports';

/**
 * A real etcd server on loopback, on free ports, with its own data directory, started for a test and
 * removed after it. Requires `etcd` on PATH (Debian's etcd-server package; `.ci/run` installs it).
 */
export class EtcdServer {
  private constructor(
    private readonly process: ChildProcess,
    private readonly dataDir: string,
    readonly clientPort: number,
    private output: string[],
  ) {}

  /** `http://127.0.0.1:<port>` */
  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** The metadataServiceUri for a BookKeeper scope on this server, e.g. `etcd://127.0.0.1:23791/ledgers`. */
  uri(scope = '/ledgers'): string {
    return `etcd://127.0.0.1:${this.clientPort}${scope}`;
  }

  static async start(options: { startTimeoutMs?: number } = {}): Promise<EtcdServer> {
    const [clientPort, peerPort] = await freePorts(2);
    const dataDir = mkdtempSync(join(tmpdir(), 'ledgerline-etcd-'));
    const name = `test-${clientPort}`;
    const child = spawn(
      'etcd',
      [
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        `http://127.0.0.1:${clientPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${clientPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-cluster',
        `${name}=http://127.0.0.1:${peerPort}`,
        '--log-level',
        'error',
        // Tests measure lease expiry; a fast tick keeps the TTL honest to the second.
        '--heartbeat-interval',
        '50',
        '--election-timeout',
        '500',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const output: string[] = [];
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const server = new EtcdServer(child, dataDir, clientPort!, output);
    await server.waitHealthy(options.startTimeoutMs ?? 15000);
    return server;
  }

  private async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) {
        throw new Error(`etcd exited with ${this.process.exitCode}: ${this.output.join('')}`);
      }
      try {
        const response = await fetch(`${this.endpoint}/health`);
        if (response.ok) {
          const body = (await response.json()) as { health?: string };
          if (body.health === 'true') return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd did not become healthy within ${timeoutMs} ms: ${this.output.join('')}`);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      const exited = new Promise((r) => this.process.once('exit', r));
      this.process.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
