/**
 * Graph's 400/403/404 on an object created moments ago are replication lag, not verdicts: the
 * steps that touch a brand-new servicePrincipal ask here, and classify-error.ts decides.
 */
import { reclassify } from '../graph/classify-error.ts';
import { GraphError } from '../graph/errors.ts';
import type { InstanceIds } from './instance.ts';
import type { StepDeps } from './types.ts';

/** Still within the replication window of an app provflow created (an adopted existing app has none). */
export function inReplicationWindow(deps: Pick<StepDeps, 'settings' | 'now'>, prev: InstanceIds): boolean {
  const since = prev.replicatedAt ?? prev.createdAt;
  return since !== undefined && deps.now() - since < deps.settings.replicationTimeoutMs && prev.adopted !== 'existing';
}

/** A permanent Graph error that, inside the replication window, classifies as lag (transient). */
export function isReplicationLag(deps: Pick<StepDeps, 'settings' | 'now'>, prev: InstanceIds, err: unknown): boolean {
  if (!(err instanceof GraphError) || err.errorClass !== 'permanent' || !inReplicationWindow(deps, prev)) return false;
  return reclassify(err, { replicationWindow: true }).errorClass === 'transient';
}
