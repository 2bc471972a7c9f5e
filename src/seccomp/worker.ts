// Worker-thread entry of the supervisor (workerData: SupervisorOptions).

import { workerData } from 'node:worker_threads';
import { supervise, type SupervisorOptions } from './supervisor.js';

supervise(workerData as SupervisorOptions);
