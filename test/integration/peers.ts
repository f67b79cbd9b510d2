import net from 'node:net';

/** A raw line-protocol peer for tests that must speak (or break) the protocol by hand. */
export class RawPeer {
  private buf = '';
  private closedFlag = false;
  readonly socket: net.Socket;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.buf += d));
    this.socket.on('close', () => (this.closedFlag = true));
    this.socket.on('error', () => undefined);
  }

  /** Writes raw text or bytes. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one message as a JSON line. */
  send(msg: object): void {
    this.socket.write(JSON.stringify(msg) + '\n');
  }

  /** Every complete line received so far, parsed. */
  lines(): any[] {
    return this.buf
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l));
  }

  get closed(): boolean {
    return this.closedFlag;
  }
}

/** A worker hello for a hand-written worker. */
export function workerHello(platform: string, version = 1): object {
  return {
    type: 'hello',
    role: 'worker',
    version,
    worker: { platform, hostname: 'raw', os: 'Linux', release: '1', arch: 'x64', cpus: 1, memory: 1, version: 'test' },
  };
}
