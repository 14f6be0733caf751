/** Runs the simulator in its own process: `node --import tsx src/sim/main.ts --port 0 --profile realistic --seed 1 --time-scale 10`. */
import { parseArgs } from 'node:util';
import { isSimProfile } from './settings.ts';
import { runSimulate } from './cli-simulate.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    profile: { type: 'string', default: 'realistic' },
    seed: { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '1' },
  },
});
if (!isSimProfile(values.profile)) {
  process.stderr.write(`--profile must be fast, realistic or chaos (got ${values.profile})\n`);
  process.exit(2);
}
const sim = await runSimulate({ port: Number(values.port), host: values.host, profile: values.profile, seed: Number(values.seed), timeScale: Number(values['time-scale']) });
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
