/**
 * Graph endpoints of the simulator (under /beta or /v1.0): how a request is priced (`costOf`) and
 * which route file handles it (`handleGraph`). Each handler gets the request context and the
 * tenant state; quotas, faults and latency are applied before it runs.
 */
import type { SimContext } from './http.ts';
import type { SimState } from './state.ts';
import { settleWatched } from './settle.ts';
import { handleLifecycle } from './routes/lifecycle.ts';
import { handleDeletedItems } from './routes/deleted-items.ts';
import { handleDirectoryObjectRoutes } from './routes/directory-objects.ts';
import { handleSchemaRoutes } from './routes/schema.ts';
import { handleAssignmentRoutes } from './routes/assignments.ts';
import { handleOnDemandRoutes } from './routes/on-demand.ts';
import { handleTemplateRoutes } from './routes/templates.ts';
import { handleObjectRoutes } from './routes/objects.ts';
import { handleSynchronizationRoutes } from './routes/synchronization.ts';
import { handleAuditLogRoutes } from './routes/audit-logs.ts';
import { onboardingShape } from './routes/route-shape.ts';

/** How a request is priced and whether it is a write, decided before it runs. */
export interface RouteCost {
  write: boolean;
  ru: number;
  reports: boolean;
  route: string;
}

const isWrite = (m: string) => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';

export function costOf(method: string, path: string): RouteCost {
  const route = path
    .replace(/^\/(applicationTemplates|applications|servicePrincipals)\/[^/]+/, '/$1/{id}')
    .replace(/\/jobs\/[^/]+/, '/jobs/{jobId}')
    .replace(/^\/directory\/deletedItems\/(?!microsoft\.graph\.)[^/]+/i, '/directory/deletedItems/{id}');
  const list = /^\/(applications|servicePrincipals)$/.test(path);
  const reports = path.startsWith('/auditLogs/provisioning');
  const { shape, isList } = onboardingShape(route, path);
  return { write: isWrite(method), ru: reports ? 0 : list || isList ? 2 : 1, reports, route: `${method} ${shape}` };
}

/** Handles one Graph request (after quota/fault/latency). Returns false when no route matched. */
export async function handleGraph(st: SimState, ctx: SimContext): Promise<boolean> {
  const now = Date.now();
  const seg = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  settleWatched(st, now);
  if (handleLifecycle(st, ctx, seg, now) || handleDeletedItems(st, ctx, seg, now)) return true;
  if (handleDirectoryObjectRoutes(ctx)) return true;
  if (handleSchemaRoutes(st, ctx)) return true;
  if (handleAssignmentRoutes(st, ctx)) return true;
  if (handleOnDemandRoutes(st, ctx)) return true;
  if (await handleTemplateRoutes(st, ctx, seg, now)) return true;
  if (handleObjectRoutes(st, ctx, seg, now)) return true;
  if (handleSynchronizationRoutes(st, ctx, seg, now)) return true;
  return handleAuditLogRoutes(st, ctx, seg, now);
}
