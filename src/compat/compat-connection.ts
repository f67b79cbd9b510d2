import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Connection } from '../protocol/connection.js';
import type { ServerMessage } from '../protocol/messages.js';
import { BuilderError, reason } from '../shared/errors.js';
import { contextTag } from '../upload/der.js';
import { CMD_TAG, type Cmd } from './cmd.js';
import { decodeCmd } from './cmd-decode.js';
import { encodeFrame } from './cmd-encode.js';

/** How big a frame may be: any cmd, and the one job_finished that carries every artifact. */
export interface FrameLimits {
  maxFrame: number;
  maxJobFinished: number;
}

/** A frame as read: a whole cmd, or a job_finished whose `length` bytes (its tag byte already read) are left to stream. */
export type Frame = { kind: 'cmd'; cmd: Cmd } | { kind: 'job_finished'; length: number };

const JOB_FINISHED_TAG = contextTag(CMD_TAG.job_finished);

/**
 * A peer speaking the original's framing (8-byte big-endian length, one DER
 * cmd), on top of our Connection's pull-based reading with backpressure.
 * The client handlers answer through `send()` with our own messages; here
 * success and failure become the original's frames.
 */
export class CompatConnection extends Connection {
  constructor(
    socket: Socket,
    peer: string,
    private readonly limits: FrameLimits,
  ) {
    super(socket, peer, limits.maxFrame);
  }

  /** Exactly `n` bytes from the peer. */
  async readBytes(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.readRaw(
      n,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          parts.push(chunk);
          cb();
        },
      }),
    );
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * The next frame. Its announced length is checked before any of it is
   * read: a job_finished may be up to maxJobFinished and is left to the
   * caller to stream (readJobFinished), any other cmd up to maxFrame and is
   * read whole and decoded.
   */
  async readFrame(): Promise<Frame> {
    const length = (await this.readBytes(8)).readBigUInt64BE();
    if (length === 0n) throw new BuilderError('bad_message', `${this.peer} sent an empty frame`);
    if (length > BigInt(this.limits.maxJobFinished)) throw this.frameTooLong(length, this.limits.maxJobFinished);
    const n = Number(length);
    const tag = await this.readBytes(1);
    if (tag[0] === JOB_FINISHED_TAG) return { kind: 'job_finished', length: n };
    if (n > this.limits.maxFrame) throw this.frameTooLong(length, this.limits.maxFrame);
    const der = Buffer.concat([tag, await this.readBytes(n - 1)]);
    try {
      return { kind: 'cmd', cmd: decodeCmd(der) };
    } catch (e) {
      throw new BuilderError('bad_message', `${this.peer} sent a frame that is not an original cmd: ${reason(e)}`);
    }
  }

  private frameTooLong(length: bigint, max: number): BuilderError {
    return new BuilderError('frame_too_long', `${this.peer} announced a frame of ${length} bytes, more than the limit of ${max}`);
  }

  /** Sends one cmd as a frame. */
  sendCmd(c: Cmd): Promise<void> {
    return super.sendBytes(encodeFrame(c));
  }

  /** Our messages to this peer, spoken in the original's terms (see the class comment). */
  override send(msg: object): Promise<void> {
    const m = msg as ServerMessage;
    switch (m.type) {
      case 'success':
        return this.sendCmd({ type: 'success' });
      case 'failure':
        return this.sendCmd({ type: 'failure', message: m.message });
      default:
        return Promise.reject(new BuilderError('internal', `compat: a ${m.type} message has no form in the original protocol`));
    }
  }

  // Nothing may write our JSON lines onto this socket.
  override sendBytes(): Promise<void> {
    return this.refuse('sendBytes');
  }
  override sendBatch(): Promise<void> {
    return this.refuse('sendBatch');
  }
  override sendSoon(): Promise<void> {
    return this.refuse('sendSoon');
  }
  override sendFrame(): Promise<{ sent: number; error: Error | null }> {
    return this.refuse('sendFrame');
  }
  override readLine(): Promise<string> {
    return this.refuse('readLine');
  }

  private refuse(what: string): Promise<never> {
    return Promise.reject(new BuilderError('internal', `compat: ${what} of the line protocol used on an original-protocol connection`));
  }
}
