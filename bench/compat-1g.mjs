// An original worker's Job_finished with a 1 GiB artifact through --compat-port
// of the real builder-server; reports the server's peak RSS (VmHWM) and the
// time to store it. Plain Node; the worker's frames are written by hand from
// the protocol (8-byte big-endian length, one DER cmd), the artifact's bytes
// generated as they are sent.
//   node build.mjs --no-sea && node bench/compat-1g.mjs [--size-mib N]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const sizeMiB = args.includes('--size-mib') ? Number(args[args.indexOf('--size-mib') + 1]) : 1024;
const size = sizeMiB * 1024 * 1024;
const spool = mkdtempSync(join(os.tmpdir(), 'builder-bench-'));

/** DER tag and minimal length octets for `n` content bytes. */
function hdr(tag, n) {
  if (n < 0x80) return Buffer.from([tag, n]);
  const b = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v % 256);
  return Buffer.from([tag, 0x80 | b.length, ...b]);
}
const el = (tag, ...parts) => Buffer.concat([hdr(tag, parts.reduce((n, p) => n + p.length, 0)), ...parts]);
const utf8 = (s) => el(0x0c, Buffer.from(s));
const frame = (der) => {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(der.length));
  return Buffer.concat([len, der]);
};

/** Connects and reads frames; `next()` resolves with the next frame's DER. */
function connect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      let buf = Buffer.alloc(0);
      const waiters = [];
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8 && buf.length >= 8 + Number(buf.readBigUInt64BE(0)) && waiters.length) {
          const n = Number(buf.readBigUInt64BE(0));
          waiters.shift()(buf.subarray(8, 8 + n));
          buf = buf.subarray(8 + n);
        }
      });
      resolve({ s, next: () => new Promise((r) => waiters.push(r)) });
    });
  });
}

function vm(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const script = join(spool, 'job.sh');
writeFileSync(script, '#!/bin/sh\nexit 0\n');
const dir = join(spool, 'spool');
const child = spawn(process.execPath, ['dist/builder-server.cjs', '--port', '0', '--compat-port', '0', '--dir', dir, '--max-artifact-bytes', String(size * 2)], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d) => (out += d));
let err = '';
child.stderr.on('data', (d) => (err += d));
const ports = await new Promise((resolve) => {
  const t = setInterval(() => {
    const main = / listening 127\.0\.0\.1:(\d+)/.exec(out);
    const compat = /--compat-port\) listening 127\.0\.0\.1:(\d+)/.exec(out);
    if (main && compat) {
      clearInterval(t);
      resolve({ main: Number(main[1]), compat: Number(compat[1]) });
    }
  }, 20);
});
const baseline = vm(child.pid, 'VmRSS');

// An original client schedules the job (daily: queued at once).
const c = await connect(ports.compat);
c.s.write(frame(el(0xae, el(0x30, el(0xa0, Buffer.from([5, 0])), Buffer.from([2, 1, 13])))));
await c.next();
const job = el(0x30, utf8('big'), utf8('#!/bin/sh\nexit 0\n'), el(0x30), utf8('bench-1'));
c.s.write(frame(el(0xa5, el(0x30, el(0xa1, Buffer.from([5, 0])), job))));
await c.next();
c.s.destroy();

// The original worker takes it and sends Job_finished with one artifact of `size` bytes.
const w = await connect(ports.compat);
w.s.write(frame(el(0xae, el(0x30, el(0xa1, Buffer.from([5, 0])), Buffer.from([2, 1, 5])))));
await w.next();
w.s.write(frame(el(0xb0, utf8('bench-1'))));
const schedule = await w.next();
const uuid = schedule.subarray(schedule.indexOf(Buffer.from([0x0c, 0x10])) + 2).subarray(0, 16);
const path = utf8('big.bin');
const dataHdr = hdr(0x0c, size);
const file = Buffer.concat([hdr(0x30, path.length + dataHdr.length + size), path, dataHdr]);
const files = Buffer.concat([hdr(0x30, file.length + size), file]);
const head = Buffer.concat([el(0x0c, uuid), el(0xa0, Buffer.from([2, 1, 0]))]);
const seqHdr = hdr(0x30, head.length + files.length + size);
const outerHdr = hdr(0xa3, seqHdr.length + head.length + files.length + size);
const total = outerHdr.length + seqHdr.length + head.length + files.length + size;
const len = Buffer.alloc(8);
len.writeBigUInt64BE(BigInt(total));
const t0 = Date.now();
let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, vm(child.pid, 'VmHWM'))), 100);
const write = (b) => (w.s.write(b) ? Promise.resolve() : new Promise((r) => w.s.once('drain', r)));
await write(Buffer.concat([len, outerHdr, seqHdr, head, files]));
const chunk = Buffer.alloc(1 << 20);
for (let i = 0; i < sizeMiB; i++) await write(chunk.fill(i & 0xff));
await new Promise((r) => w.s.once('close', r));
const resultsDir = join(dir, 'results', 'big');
await new Promise((resolve) => {
  const t = setInterval(() => {
    try {
      if (readdirSync(resultsDir).length) {
        clearInterval(t);
        resolve();
      }
    } catch {}
  }, 50);
});
const ms = Date.now() - t0;
clearInterval(sample);
peak = Math.max(peak, vm(child.pid, 'VmHWM'));
child.kill('SIGTERM');
rmSync(spool, { recursive: true, force: true });
console.log(JSON.stringify({ bench: 'compat-1g', artifact_mib: sizeMiB, stored_s: ms / 1000, mib_per_s: Math.round(sizeMiB / (ms / 1000)), server_rss_start_mib: Math.round(baseline), server_peak_mib: Math.round(peak) }));
if (peak >= 150) {
  console.error(`peak RSS ${Math.round(peak)} MiB >= 150 MiB: the Job_finished frame is not streamed`);
  process.exitCode = 1;
}
if (/error/.test(err)) console.error(err);
