/**
 * The Graph simulator: HTTPS with its own CA, Entra's client-credentials sign-in, the Graph
 * endpoints provflow uses, Microsoft's throttling model, replication lag and seeded faults.
 * Runs in-process (`startSimulator`), as `provflow simulate`, or as `src/dev/sim/main.ts`.
 * This file starts the server and routes a request to Entra (entra.ts), `/_sim/*` (sim-control.ts)
 * or Graph (graph-request.ts); the tenants live in tenants.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sendJson } from './http.ts';
import { SeededRandom } from './prng.ts';
import { applyOverrides, resolveSettings, type SimProfile, type SimulatorSettings } from './settings.ts';
import type { SimState, SimStats } from './state.ts';
import { getTlsMaterial } from './tls.ts';
import { stageDeletes } from './routes/control.ts';
import { SIM_GROUPS, SIM_USERS } from './seed-directory.ts';
import { handleEntra, type IssuedToken } from './entra.ts';
import { handleSimControl, isLoopback } from './sim-control.ts';
import { handleGraphRequest } from './graph-request.ts';
import { watchEventLoop } from './loop-watch.ts';
import { tenantStats, TenantRegistry, type SimTenantIdentity, type SimTenantOptions } from './tenants.ts';

export type { SimProfile, SimulatorSettings, SimStats, SimTenantIdentity, SimTenantOptions };
export { SIM_GROUPS, SIM_USERS } from './seed-directory.ts';
export { DEFAULT_ACCESS_ROLE_ID } from './app-roles.ts';
export { SIM_TOKEN_ROLES } from './entra.ts';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  profile?: SimProfile;
  seed?: number;
  /** > 1 compresses every simulated duration (quota windows, lag, latency, cycles). */
  timeScale?: number;
  overrides?: Partial<SimulatorSettings>;
  /** Extra DNS names for the certificate (e.g. a compose service name). */
  hostnames?: string[];
  /** Where to write the CA certificate (default: a fresh temp dir). */
  caCertPath?: string;
  /** Fixed identities (a compose trial shares them with the workers); random per seed otherwise. */
  identity?: { tenantId?: string; clientId?: string; clientSecret?: string };
  /**
   * More tenants besides the first, each with its own app registration, directory, quotas and
   * counters (selected by the tenant in the token URL, then by the token); seeded ids when not given.
   */
  tenants?: SimTenantOptions[];
  /**
   * Serve the token-less `/_sim/*` control endpoints (stats, settings, configure, reset). On by
   * default in-process (tests); `provflow simulate` turns it on only with `--control`. Either way
   * they answer only on loopback connections: never to another host.
   */
  control?: boolean;
}

export interface SimulatorHandle {
  graphBaseUrl: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  caCertPath: string;
  caCertPem: string;
  profile: SimProfile;
  seed: number;
  timeScale: number;
  settings: SimulatorSettings;
  /** Whether `/_sim/*` is served (on loopback connections only). */
  control: boolean;
  /** The seeded users and groups' ids (the same in every simulator; docs/simulator-onboarding.md). */
  directory: { users: typeof SIM_USERS; groups: typeof SIM_GROUPS };
  stats(): SimStats;
  /** Every tenant, the first one (tenantId, clientId, clientSecret above) first. */
  tenants: SimTenantIdentity[];
  /** One tenant's counters (stats() is the first tenant's). */
  statsOf(tenantId: string): SimStats;
  /** Changes one tenant's settings only (e.g. its quota or a 429 storm). */
  configureTenant(tenantId: string, overrides: Partial<SimulatorSettings>): void;
  /** Access tokens issued so far (tests check they never leak into Redis, logs or the board). */
  issuedTokens(): string[];
  configure(overrides: Partial<SimulatorSettings>): void;
  /** The simulated calendar: `now()` (ms), `advance(simMs)`, `set(ms)`; `/_sim/clock` over HTTP. */
  clock(): SimState['clock'];
  /** Stage deletions on an instance's job for its next cycle (as `POST /_sim/deletes`). */
  stageDeletes(o: {
    jobId?: string;
    servicePrincipalId?: string;
    displayName?: string;
    count: number;
    threshold?: number;
  }): {
    jobId: string;
  };
  reset(): void;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const profile = opts.profile ?? 'fast';
  const seed = opts.seed ?? 1;
  const timeScale = opts.timeScale ?? 1;
  const control = opts.control ?? true;
  const reg = new TenantRegistry({
    seed,
    timeScale,
    settings: resolveSettings(profile, timeScale, opts.overrides),
    identity: opts.identity,
    tenants: opts.tenants,
  });
  const { tenantId, clientId, clientSecret, state } = reg.primary;
  const loop = watchEventLoop();
  const tokens = new Map<string, IssuedToken>();
  const deps = {
    reg,
    tokens,
    loop,
    socketTold: new WeakMap<object, Set<number>>(),
    faults: new SeededRandom(seed + 3),
  };

  const tls = getTlsMaterial(opts.hostnames ?? []);
  const caCertPath = opts.caCertPath ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'provflow-sim-')), 'ca.pem');
  writeFileSync(caCertPath, tls.caCertPem);

  let origin = '';

  const server = https.createServer(
    { key: tls.serverKeyPem, cert: tls.serverCertPem, keepAliveTimeout: 65_000 },
    (req, res) => {
      // Links (discovery, nextLink) follow the name the caller used: 127.0.0.1, or a compose service name.
      const url = new URL(req.url ?? '/', req.headers.host ? `https://${req.headers.host}` : origin);
      const run = async () => {
        const controlPath = /^(?:\/(?:beta|v1\.0))?\/_sim\/(.*)$/.exec(url.pathname);
        if (controlPath) {
          if (control && isLoopback(req.socket.localAddress)) return handleSimControl(reg, req, res, controlPath[1]!);
          if (control) return sendJson(res, 403, { error: '/_sim/* answers only on loopback connections' });
        }
        const m = /^\/(beta|v1\.0)(\/.*)?$/.exec(url.pathname);
        if (m) {
          const sub = m[2] ?? '/';
          return handleGraphRequest(deps, req, res, url, m[1]!, sub);
        }
        if (await handleEntra(reg, tokens, req, res, url)) return;
        sendJson(res, 404, { error: 'not found' });
      };
      run().catch((err: unknown) => {
        if (!res.headersSent)
          sendJson(res, 500, { error: { code: 'InternalServerError', message: (err as Error).message } });
      });
    },
  );
  server.headersTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://${opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1'}:${port}`;

  return {
    graphBaseUrl: `${origin}/beta`,
    authorityHost: origin,
    tenantId,
    clientId,
    clientSecret,
    caCertPath,
    caCertPem: tls.caCertPem,
    profile,
    seed,
    timeScale,
    control,
    directory: { users: SIM_USERS, groups: SIM_GROUPS },
    get settings() {
      return reg.settings;
    },
    stats: () => tenantStats(reg.primary),
    tenants: reg.identities(),
    statsOf: (id) => tenantStats(reg.find(id) ?? reg.primary),
    configureTenant: (id, o) => {
      const t = reg.find(id);
      if (!t) throw new Error(`no simulated tenant ${id}`);
      reg.configure(t, o);
    },
    issuedTokens: () => [...tokens.keys()],
    configure(o) {
      reg.settings = applyOverrides(reg.settings, o);
    },
    clock: () => state.clock,
    stageDeletes: (o) => stageDeletes(state, o as Record<string, unknown>),
    reset: () => reg.resetAll(),
    async close() {
      loop.stop();
      for (const { state } of reg.all()) {
        for (const t of state.timers) clearTimeout(t);
        state.timers.clear();
      }
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
