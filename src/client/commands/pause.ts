import { platformCommand } from '../platform-command.js';

export const pause = platformCommand('pause', 'stop handing jobs to a platform; its queue is kept', 'For upgrades of build hosts: queued jobs wait, running ones finish. Survives a server restart.');
