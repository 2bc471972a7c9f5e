// What a daemon answers on its control socket: each command's live side,
// running the same view code as the offline command, on the live model.

import type { ControlHandlers } from '../daemon/index.js';
import { dmabufLive } from './dmabuf-cmd.js';
import { explainLive } from './explain-cmd.js';
import { reportLive } from './report-cmd.js';
import { statusLive } from './status-cmd.js';
import { topoLive } from './topo-cmd.js';

export const LIVE_HANDLERS: ControlHandlers = {
  explain: explainLive,
  topo: topoLive,
  dmabuf: dmabufLive,
  report: reportLive,
  status: statusLive,
};
