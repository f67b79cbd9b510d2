import { DerReader, TAG, contextTag, derError, tagName } from '../upload/der.js';
import type { StateItem } from './cmd.js';
import { el, explicit, queue, scheduleItem, utf8 } from './cmd-encode.js';
import * as d from './cmd-decode.js';

// The original server's `state` file (<dir>/state): one DER SEQUENCE OF
// state_item, which is a CHOICE:
//   [0] script_job             an old lone queued job: ignored, as the original does
//   [1] SEQUENCE { next UTCTime, period, script_job }   an old schedule entry
//   [2] job                    an old lone queued job: ignored, as the original does
//   [3] schedule               a schedule entry (next, period, job)
//   [4] SEQUENCE { platform, jobs SEQUENCE OF job }     one platform's queue, in order
//   [5] UTF8String             a dropped platform

/** Parses a whole state file; a malformed one throws BuilderError('bad_der') naming the byte offset. */
export function decodeState(buf: Buffer): StateItem[] {
  const top = new DerReader(buf);
  const items = d.seqOf(top, 'state', (r) => stateItem(r));
  top.finish('state');
  return items;
}

function stateItem(r: DerReader): StateItem {
  const tag = r.peekTag();
  const n = tag !== undefined && tag >= contextTag(0) && tag <= contextTag(5) ? tag & 0x1f : -1;
  if (n < 0) {
    const tlv = r.readAny('state_item');
    derError(tlv.offset, 'state_item', `expected one of [0] to [5], found ${tagName(tlv.tag)}`);
  }
  const inner = r.enter(contextTag(n), `state_item [${n}]`);
  let item: StateItem;
  switch (n) {
    case 0: {
      const j = d.scriptJob(inner, 'state_item [0] script_job');
      item = { kind: 'ignored', what: `an old queued script job ${j.name}` };
      break;
    }
    case 1: {
      const s = inner.enter(TAG.sequence, 'state_item [1] old schedule');
      const next = d.time(s, 'old schedule.next');
      const period = d.period(s, 'old schedule.period');
      const job = d.scriptJob(s, 'old schedule.job');
      s.finish('state_item [1] old schedule');
      item = { kind: 'schedule', item: { next, period, job: { kind: 'script', job } } };
      break;
    }
    case 2: {
      const j = d.job(inner, 'state_item [2] job');
      item = { kind: 'ignored', what: `an old queued job ${j.kind === 'script' ? j.job.name : j.name}` };
      break;
    }
    case 3:
      item = { kind: 'schedule', item: d.scheduleItem(inner, 'state_item [3] schedule') };
      break;
    case 4: {
      const q = d.queue(inner, 'state_item [4] queue');
      item = { kind: 'queue', platform: q.platform, jobs: q.jobs };
      break;
    }
    default:
      item = { kind: 'dropped_platform', platform: d.text(inner, 'state_item [5] dropped platform') };
  }
  inner.finish(`state_item [${n}]`);
  return item;
}

/** Encodes state items as the original's current server writes them ([3], [4], [5]); `ignored` items cannot be written. */
export function encodeState(items: StateItem[]): Buffer {
  return el(
    TAG.sequence,
    ...items.map((i) => {
      switch (i.kind) {
        case 'schedule':
          return explicit(3, scheduleItem(i.item));
        case 'queue':
          return explicit(4, queue(i.platform, i.jobs));
        case 'dropped_platform':
          return explicit(5, utf8(i.platform));
        case 'ignored':
          throw new RangeError(`cannot encode an ignored state item (${i.what})`);
      }
    }),
  );
}
