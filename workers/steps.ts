/** Process entry: the steps worker (same as `provflow worker`). */
import { runWorker } from '../src/commands/processes.ts';
import { reportAndExit } from '../src/commands/common.ts';

await runWorker({}).catch(reportAndExit);
