import { platformCommand } from '../platform-command.js';

export const undropPlatform = platformCommand('undrop_platform', 'accept jobs and workers for a dropped platform again', 'Its old queue and schedule entries are not restored.');
