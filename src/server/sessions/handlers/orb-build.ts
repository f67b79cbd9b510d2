import type { Connection } from '../../../protocol/connection.js';
import type { ClientMessage } from '../../../protocol/messages.js';
import { BuilderError } from '../../../shared/errors.js';
import { ALL_PLATFORMS } from '../../../spool/records.js';
import { templatePlatforms } from '../../core/jobs.js';
import type { ServerState } from '../../core/state.js';
import { addEntries, entryOf } from './schedule.js';

/** `orb_build`: schedules a template job built per platform from `<config-dir>/orb-build.template.<platform>`. */
export async function handleOrbBuild(state: ServerState, conn: Connection, m: Extract<ClientMessage, { type: 'orb_build' }>): Promise<void> {
  const platforms = await templatePlatforms(state, 'orb-build');
  if (m.platform && !platforms.includes(m.platform))
    throw new BuilderError('no_template', `no template orb-build.template.${m.platform} in ${state.config.configDir} (add it, then schedule again)`);
  const spec = {
    name: m.name,
    platform: m.platform ?? 'any',
    script: '',
    period: m.period,
    ...(m.cron ? { cron: m.cron, tz: m.tz ?? 'UTC' } : {}),
    ...(m.timeout_s ? { timeout_s: m.timeout_s } : {}),
    ...(m.verify ? { verify: m.verify } : {}),
  };
  const entry = { ...entryOf(state, spec, { name: 'orb-build', opam_package: m.opam_package }), platform: m.platform ?? ALL_PLATFORMS };
  await addEntries(state, [entry]);
  const where = m.platform ?? (platforms.length ? platforms.join(', ') : `no platform yet (no orb-build.template.* in ${state.config.configDir})`);
  await conn.send({ type: 'success', message: `scheduled ${m.name} (opam package ${m.opam_package}) for ${where}` });
}
