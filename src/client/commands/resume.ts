import { platformCommand } from '../platform-command.js';

export const resume = platformCommand('resume', 'hand jobs to a paused platform again', 'Undoes pause.');
