/**
 * The token-less `/_sim/*` control endpoints (stats, tenants, settings, configure, day-two
 * staging, reset): served on loopback connections only, as tests and `--control` ask.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http.ts';
import { applyOverrides, type SimulatorSettings } from './settings.ts';
import { handleDayTwoControl } from './routes/control.ts';
import { tenantStats, type TenantRegistry } from './tenants.ts';

/** Whether a connection's local address is loopback (127/8, ::1, or IPv4-mapped 127/8). */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.replace(/^::ffff:/i, '');
  return a === '::1' || /^127\./.test(a);
}

/** Answers `/_sim/{sub}` (`?tenant=ID` picks a tenant; the first one without it). */
export async function handleSimControl(
  reg: TenantRegistry,
  req: IncomingMessage,
  res: ServerResponse,
  sub: string,
): Promise<void> {
  const sel = new URL(req.url ?? '/', 'https://x').searchParams.get('tenant');
  const picked = sel ? reg.find(sel) : reg.primary;
  if (!picked) return sendJson(res, 404, { error: `no simulated tenant ${sel}` });
  if (sub === 'stats' && req.method === 'GET') return sendJson(res, 200, tenantStats(picked));
  if (sub === 'tenants' && req.method === 'GET') return sendJson(res, 200, reg.identities());
  if (sel && sub === 'configure' && req.method === 'POST') {
    const overrides = JSON.parse((await readBody(req)) || '{}') as Partial<SimulatorSettings>;
    reg.configure(picked, overrides);
    return sendJson(res, 200, picked.settings());
  }
  if (sub === 'settings' && req.method === 'GET') return sendJson(res, 200, reg.settings);
  if (sub === 'configure' && req.method === 'POST') {
    let overrides: Partial<SimulatorSettings>;
    try {
      overrides = JSON.parse((await readBody(req)) || '{}') as Partial<SimulatorSettings>;
    } catch {
      return sendJson(res, 400, { error: 'the body must be JSON: a partial of the settings' });
    }
    reg.settings = applyOverrides(reg.settings, overrides);
    return sendJson(res, 200, reg.settings);
  }
  if (await handleDayTwoControl(reg.primary.state, req, res, sub)) return;
  if (sub === 'reset' && req.method === 'POST') {
    reg.resetAll();
    return sendJson(res, 200, { reset: true });
  }
  sendJson(res, 404, { error: `unknown /_sim/${sub}` });
}
