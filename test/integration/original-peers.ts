import net from 'node:net';
import * as asn1js from 'asn1js';

// A fake original builder-worker and builder-client, written from the
// protocol description (lib/builder.ml's ASN.1, app/worker.ml's and
// app/client.ml's conversations), not from our codec: messages are built
// and read with asn1js, an independent DER implementation, so a mistake in
// our encoder or decoder cannot cancel itself out here.
//
// Framing: 8 bytes big-endian length, then one DER `cmd`, a CHOICE of
// [n] EXPLICIT alternatives: 2 job_schedule, 3 job_finished, 4 output,
// 5 schedule, 6 info, 9 unschedule, 10 observe, 12 orb build, 13 reschedule,
// 14 client_hello, 15 server_hello, 16 job_requested, 17 drop_platform,
// 18 success, 19 failure, 20 execute, 21 undrop_platform, 22 info_reply.

type Block = asn1js.AsnType;

/** `[n] EXPLICIT inner`. */
export const ctx = (n: number, inner: Block): Block => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [inner] });
export const seq = (...value: Block[]): Block => new asn1js.Sequence({ value });
export const utf8 = (v: string | Buffer): Block => new asn1js.Utf8String({ valueHex: new Uint8Array(typeof v === 'string' ? Buffer.from(v) : v) });
export const int = (n: number): Block => new asn1js.Integer({ value: n });
export const nul = (): Block => new asn1js.Null();
export const uuidBlock = (u: string): Block => utf8(Buffer.from(u.replaceAll('-', ''), 'hex'));
const PERIOD = { hourly: 0, daily: 1, weekly: 2, never: 3 } as const;
export const period = (p: keyof typeof PERIOD): Block => ctx(PERIOD[p], nul());
/** script_job ::= SEQUENCE { name, script, files SEQUENCE OF file, platform OPTIONAL }. */
export const scriptJob = (name: string, platform: string, script: string): Block => seq(utf8(name), utf8(script), seq(), utf8(platform));

/** The DER of a block, framed. */
export function frame(b: Block): Buffer {
  const der = Buffer.from(b.toBER());
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(der.length));
  return Buffer.concat([len, der]);
}

/** A cmd as read back: its alternative's number and the block inside [n]. */
export interface Reply {
  tag: number;
  inner: Block;
}

const kids = (b: Block): Block[] => (b as asn1js.Constructed).valueBlock.value as Block[];
export const raw = (b: Block): Buffer => Buffer.from((b as asn1js.Utf8String).valueBlock.valueHexView);
export const textOf = (b: Block): string => raw(b).toString('utf8');
export const children = kids;
export const uuidOf = (b: Block): string => {
  const h = raw(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};
export const intOf = (b: Block): number => (b as asn1js.Integer).valueBlock.valueDec;

/** A raw connection to the compat port that reads whole frames. */
export class OriginalPeer {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number): Promise<OriginalPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new OriginalPeer(s)));
      s.once('error', reject);
    });
  }

  /** Writes bytes as they are (a frame, or garbage). */
  write(b: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(b, (e) => (e ? reject(e) : resolve())));
  }

  send(b: Block): Promise<void> {
    return this.write(frame(b));
  }

  private async take(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.ended) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The next frame, parsed with asn1js; null when the server closed the connection. */
  async read(): Promise<Reply | null> {
    const len = await this.take(8);
    if (!len) return null;
    const der = await this.take(Number(len.readBigUInt64BE()));
    if (!der) throw new Error('the connection closed inside a frame');
    const parsed = asn1js.fromBER(new Uint8Array(der));
    if (parsed.offset !== der.length || parsed.result.idBlock.tagClass !== 3) throw new Error(`not a cmd: ${der.toString('hex').slice(0, 80)}`);
    return { tag: parsed.result.idBlock.tagNumber, inner: kids(parsed.result)[0]! };
  }

  /** Every frame until the server closes. */
  async readAll(): Promise<Reply[]> {
    const out: Reply[] = [];
    for (let r = await this.read(); r; r = await this.read()) out.push(r);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Hello as the original client (client_version 13) or worker (worker_version 5); returns the peer after server_hello. */
export async function hello(port: number, role: 'client' | 'worker', version = role === 'client' ? 13 : 5): Promise<OriginalPeer> {
  const p = await OriginalPeer.connect(port);
  await p.send(ctx(14, seq(ctx(role === 'client' ? 0 : 1, nul()), int(version))));
  const r = await p.read();
  if (!r || r.tag !== 15) throw new Error(`expected server_hello, got ${r ? `[${r.tag}] ${r.tag === 19 ? textOf(r.inner) : ''}` : 'a close'}`);
  return p;
}

/** What an original client prints of a reply: success, failure MESSAGE, or the alternative number. */
export function describe(r: Reply): string {
  return r.tag === 18 ? 'success' : r.tag === 19 ? `failure ${textOf(r.inner)}` : `[${r.tag}]`;
}

/** One original client command: hello, the cmd, then every reply until the server closes. */
export async function originalClient(port: number, cmd: Block): Promise<Reply[]> {
  const p = await hello(port, 'client');
  await p.send(cmd);
  return p.readAll();
}
