/** Process entry: the poller (same as `provflow poller`). */
import { runPoller } from '../src/commands/processes.ts';
import { reportAndExit } from '../src/commands/common.ts';

await runPoller({}).catch(reportAndExit);
