import net from 'node:net';

/** Sees one line going one way: pass it on with `send` now, or keep `send` and call it later (or never). */
export type LineFilter = (line: string, send: (line: string) => void) => void;

/**
 * A loopback TCP proxy to a server's port, standing in for the network
 * between a peer (a worker) and the server: `cut` destroys every connection
 * (with `hold`, new ones are refused until `restore`), as an outage would;
 * `retarget` sends later connections to another port (a restarted server);
 * a filter sees each line of one direction (that direction must carry JSON
 * lines only: no artifact bytes).
 */
export class LoopbackProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private down = false;
  readonly server: net.Server;
  connections = 0;

  constructor(
    private port: number,
    filters: { fromServer?: LineFilter; fromPeer?: LineFilter } = {},
  ) {
    this.server = net.createServer((inbound) => {
      if (this.down) return void inbound.destroy();
      this.connections++;
      const outbound = net.connect(this.port, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [inbound, outbound];
      this.pairs.add(pair);
      const end = () => {
        inbound.destroy();
        outbound.destroy();
        this.pairs.delete(pair);
      };
      for (const s of pair) s.on('error', end).on('close', end);
      forward(inbound, outbound, filters.fromPeer);
      forward(outbound, inbound, filters.fromServer);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** The next connections go to `port` (a restarted server). */
  retarget(port: number): void {
    this.port = port;
  }

  /** Destroys every connection; with `hold`, refuses new ones until `restore`. */
  cut(hold = false): void {
    this.down = hold;
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  restore(): void {
    this.down = false;
  }

  close(): void {
    this.cut(true);
    this.server.close();
  }
}

function forward(from: net.Socket, to: net.Socket, filter: LineFilter | undefined): void {
  if (!filter) return void from.pipe(to);
  const send = (line: string) => void (to.destroyed || to.write(line + '\n'));
  let rest = '';
  from.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('utf8')).split('\n');
    rest = lines.pop()!;
    for (const line of lines) filter(line, send);
  });
}
