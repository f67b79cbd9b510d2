import { platformCommand } from '../platform-command.js';

export const dropPlatform = platformCommand(
  'drop_platform',
  'remove a platform: its queue and schedule entries; refuse its jobs and workers',
  'Waiting workers of the platform are told and exit. Runs in progress finish. undrop-platform accepts it again.',
);
