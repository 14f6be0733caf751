/**
 * Step 3: wait until the new application and servicePrincipal are readable N times in a row.
 * Microsoft advises polling GET every 5–10 s; writes against an object that has not replicated
 * fail with misleading 400/403s, so later steps start only once reads are stable.
 */
import { PermanentError } from '../graph/errors.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { need, StepWait, defineStep } from './types.ts';

export async function awaitReplication(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const spId = need(input.prev, 'servicePrincipalId');
  const appObjectId = need(input.prev, 'applicationObjectId');
  const since = Number(input.state.since ?? deps.now());
  const [sp, app] = await Promise.all([deps.graph.getServicePrincipal(spId), deps.graph.getApplication(appObjectId)]);
  const okInARow = sp && app ? Number(input.state.okInARow ?? 0) + 1 : 0;
  if (okInARow >= deps.settings.replicationReadsInARow) {
    return { ...input.prev, replicatedAt: deps.now() };
  }
  const waited = deps.now() - since;
  if (waited > deps.settings.replicationTimeoutMs) {
    throw new PermanentError(
      `The application ${appObjectId} / servicePrincipal ${spId} was still not readable after ` +
        `${Math.round(waited / 1000)} s of waiting for Graph replication. ` +
        'Retry the instance later (provflow re-uses the created app) or raise REPLICATION_TIMEOUT_MS.',
    );
  }
  throw new StepWait(
    deps.settings.replicationPollMs,
    { since, okInARow },
    `replication: ${okInARow}/${deps.settings.replicationReadsInARow} good reads`,
  );
}

export const awaitReplicationStep = defineStep({
  name: 'await-replication',
  runningState: 'awaiting-replication',
  retry: { attempts: 12, backoffMs: 1000 },
  needs: ['servicePrincipalId', 'applicationObjectId'],
  run: awaitReplication,
});
