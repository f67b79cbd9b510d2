import { BuilderError } from '../shared/errors.js';

// The few DER pieces the Exec blob needs (X.690): single-byte tags, definite
// minimal lengths, minimal two's-complement INTEGERs, and a strict reader
// whose errors name the field and the byte offset.

/** The tags used by the Exec structure; constructed forms carry bit 0x20. */
export const TAG = {
  integer: 0x02,
  null: 0x05,
  utf8: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
} as const;

/** The tag byte of `[n] EXPLICIT` (context class, constructed). */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

/** Minimal definite length octets for `n` content bytes (short form below 128). */
export function lengthOctets(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER length out of range: ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag and length octets of an element with `n` content bytes. */
export function header(tag: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_MAX);
  return out.subarray(0, writeHeader(out, 0, tag, n));
}

/** The most bytes a header takes here: tag, 0x8N, and up to 7 length octets. */
export const HEADER_MAX = 9;

/** Writes tag and length octets into `buf` at `at`; returns the offset after them. */
export function writeHeader(buf: Buffer, at: number, tag: number, n: number): number {
  buf[at++] = tag;
  if (n < 0x80) {
    buf[at++] = n;
    return at;
  }
  const octets = lengthOctets(n);
  octets.copy(buf, at);
  return at + octets.length;
}

/** Size of a whole element (tag, length, content) with `n` content bytes. */
export function elementSize(n: number): number {
  let octets = 1;
  if (n >= 0x80) for (let v = n; v > 0; v = Math.floor(v / 256)) octets++;
  return 1 + octets + n;
}

/** Content octets of an INTEGER: the shortest two's-complement form (X.690 8.3.2). */
export function integerOctets(value: number | bigint): Buffer {
  // Common case (deltas, exit codes) without BigInt, which is several times slower.
  if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff) {
    const size = value < 0x80 ? 1 : value < 0x8000 ? 2 : value < 0x800000 ? 3 : 4;
    const out = Buffer.allocUnsafe(size);
    out.writeUIntBE(value, 0, size);
    return out;
  }
  let v = BigInt(value);
  const bytes: number[] = [];
  // Emit low bytes until the rest is pure sign extension of the top byte written.
  for (;;) {
    const low = Number(v & 0xffn);
    bytes.unshift(low);
    v >>= 8n;
    if ((v === 0n && (low & 0x80) === 0) || (v === -1n && (low & 0x80) !== 0)) break;
  }
  return Buffer.from(bytes);
}

/** Throws the one error every malformed input ends in: code `bad_der`, with the offset. */
export function derError(offset: number, what: string, problem: string): never {
  throw new BuilderError('bad_der', `bad DER at byte ${offset} (${what}): ${problem}`);
}

/** One element as read: its tag, where it starts, and its content bytes. */
export interface Tlv {
  tag: number;
  offset: number;
  content: Buffer;
  /** Offset of the first content byte in the whole input. */
  contentOffset: number;
}

const TAG_NAMES: Record<number, string> = {
  0x02: 'INTEGER',
  0x05: 'NULL',
  0x0c: 'UTF8String',
  0x17: 'UTCTime',
  0x18: 'GeneralizedTime',
  0x30: 'SEQUENCE',
};

/** A tag as people read it: `SEQUENCE`, `[2]`, or the raw byte. */
export function tagName(tag: number): string {
  if (TAG_NAMES[tag]) return TAG_NAMES[tag]!;
  if ((tag & 0xe0) === 0xa0) return `[${tag & 0x1f}]`;
  return `tag 0x${tag.toString(16).padStart(2, '0')}`;
}

/**
 * Reads the elements inside one span of the input, in order. Strict DER: no
 * multi-byte tags, no indefinite or non-minimal lengths, nothing past the span.
 */
export class DerReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** True when every element of the span was read. */
  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The tag of the next element, or undefined at the end of the span. */
  peekTag(): number | undefined {
    return this.atEnd() ? undefined : this.buf[this.pos];
  }

  /** Reads the next element, which must carry `tag`; `what` names the field in errors. */
  read(tag: number, what: string): Tlv {
    // The tag is checked before the length: "expected X, found Y" says more about garbage.
    const found = this.peekTag();
    if (found !== undefined && found !== tag) derError(this.pos, what, `expected ${tagName(tag)}, found ${tagName(found)}`);
    return this.readAny(what);
  }

  /** Reads the next constructed element carrying `tag` and returns a reader over its content. */
  enter(tag: number, what: string): DerReader {
    const tlv = this.read(tag, what);
    return new DerReader(this.buf, tlv.contentOffset, tlv.contentOffset + tlv.content.length);
  }

  /** Fails unless the span is fully read; `what` names the enclosing element. */
  finish(what: string): void {
    if (!this.atEnd()) derError(this.pos, what, `unexpected ${tagName(this.buf[this.pos]!)} after the last field`);
  }

  /** Reads the next element whatever its tag. */
  readAny(what: string): Tlv {
    const offset = this.pos;
    if (offset >= this.end) derError(offset, what, 'missing: the enclosing element ends here');
    const tag = this.buf[offset]!;
    if ((tag & 0x1f) === 0x1f) derError(offset, what, 'multi-byte tags are not used by this format');
    const { length, contentOffset } = this.readLength(offset + 1, what);
    if (length > this.end - contentOffset) {
      derError(offset, what, `${tagName(tag)} declares ${length} bytes but only ${this.end - contentOffset} remain (truncated?)`);
    }
    this.pos = contentOffset + length;
    return { tag, offset, contentOffset, content: this.buf.subarray(contentOffset, this.pos) };
  }

  private readLength(at: number, what: string): { length: number; contentOffset: number } {
    if (at >= this.end) derError(at, what, 'truncated before the length');
    const first = this.buf[at]!;
    if (first < 0x80) return { length: first, contentOffset: at + 1 };
    const count = first & 0x7f;
    if (count === 0) derError(at, what, 'indefinite length is not DER');
    // Six octets reach 2^48 bytes, far beyond any run; more is garbage.
    if (count > 6) derError(at, what, `length of ${count} octets is too large`);
    if (at + 1 + count > this.end) derError(at, what, 'truncated inside the length');
    let length = 0;
    for (let i = 1; i <= count; i++) length = length * 256 + this.buf[at + i]!;
    if (this.buf[at + 1] === 0 || length < 0x80) derError(at, what, 'length is not in its shortest form');
    return { length, contentOffset: at + 1 + count };
  }
}

/** The value of an INTEGER element; rejects empty, non-minimal and unsafe values. */
export function readInteger(tlv: Tlv, what: string): number {
  const c = tlv.content;
  if (c.length === 0) derError(tlv.offset, what, 'empty INTEGER');
  if (c.length > 1 && ((c[0] === 0x00 && c[1]! < 0x80) || (c[0] === 0xff && c[1]! >= 0x80))) {
    derError(tlv.offset, what, 'INTEGER is not in its shortest form');
  }
  let v = c[0]! >= 0x80 ? -1n : 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    derError(tlv.offset, what, `INTEGER ${v} is too large`);
  }
  return Number(v);
}
