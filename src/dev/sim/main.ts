/**
 * Runs the simulator in its own process:
 * `node --import tsx src/dev/sim/main.ts --port 0 --profile realistic --seed 1 --time-scale 10`.
 */
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
    // The token-less /_sim/* endpoints (stats, configure, reset): off unless asked for.
    control: { type: 'boolean', default: false },
    // Tenants hosted at once (each its own app registration, directory and quotas).
    tenants: { type: 'string', default: '1' },
  },
});
if (!isSimProfile(values.profile)) {
  process.stderr.write(`--profile must be fast, realistic or chaos (got ${values.profile})\n`);
  process.exit(2);
}
// The compose trial configures the simulator through the environment (see docker-compose.yml).
const env = process.env;
const sim = await runSimulate({
  port: Number(values.port),
  host: env.PROVFLOW_SIM_HOST ?? values.host,
  profile: values.profile,
  seed: Number(values.seed),
  timeScale: Number(values['time-scale']),
  control: values.control || env.PROVFLOW_SIM_CONTROL === '1',
  tenants: Array.from({ length: Math.max(0, Number(values.tenants) - 1) }, () => ({})),
  hostnames: env.PROVFLOW_SIM_HOSTNAMES ? env.PROVFLOW_SIM_HOSTNAMES.split(',') : undefined,
  caCertPath: env.PROVFLOW_SIM_CA_PATH,
  identity: {
    tenantId: env.PROVFLOW_SIM_TENANT_ID,
    clientId: env.PROVFLOW_SIM_CLIENT_ID,
    clientSecret: env.PROVFLOW_SIM_CLIENT_SECRET,
  },
});
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
