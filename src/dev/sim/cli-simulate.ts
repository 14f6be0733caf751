/** `provflow simulate`: start the simulator and print one JSON line of connection details. */
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from './index.ts';

export async function runSimulate(opts: SimulatorOptions): Promise<SimulatorHandle> {
  // Started for someone's trial: the token-less /_sim/* control endpoints only when asked for.
  const sim = await startSimulator({
    ...opts,
    control: opts.control ?? false,
    port: opts.port ?? 0,
    profile: opts.profile ?? 'realistic',
    seed: opts.seed ?? 1,
    timeScale: opts.timeScale ?? 1,
  });
  process.stdout.write(
    `${JSON.stringify({
      graphBaseUrl: sim.graphBaseUrl,
      authorityHost: sim.authorityHost,
      tenantId: sim.tenantId,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      ...(sim.tenants.length > 1 ? { tenants: sim.tenants } : {}),
      caCertPath: sim.caCertPath,
      profile: sim.profile,
      seed: sim.seed,
      timeScale: sim.timeScale,
      control: sim.control,
      settings: sim.settings,
    })}\n`,
  );
  return sim;
}
