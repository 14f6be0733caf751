/**
 * The staged deletes of a job quarantined by the accidental-deletion threshold: provisioning-log
 * entries with provisioningAction `stagedDelete` (who would be deleted if the deletes were forced).
 */
import type { GraphApi } from '../graph/graph-api.ts';
import type { ProvisioningObjectSummary } from '../graph/schemas.ts';

interface StagedDelete {
  when: string;
  /** The source identity's display name (the user or group in Entra). */
  source: string;
  /** The object in the target app that would be deleted. */
  target: string;
  targetId: string;
  cycleId: string;
}

const text = (o: unknown, k: string): string => {
  const v = o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : '';
};

function toStaged(e: ProvisioningObjectSummary): StagedDelete {
  return {
    when: e.activityDateTime,
    source: text(e.sourceIdentity, 'displayName') || text(e.sourceIdentity, 'id'),
    target: text(e.targetIdentity, 'displayName') || text(e.targetIdentity, 'id'),
    targetId: text(e.targetIdentity, 'id'),
    cycleId: e.cycleId ?? '',
  };
}

/**
 * Every staged delete of the job, one row per target object (its latest entry: a threshold
 * quarantine stages the same objects again at each retry), newest first. Paged through the
 * reports limiter; stops after `maxPages`.
 */
export async function listStagedDeletes(
  graph: GraphApi,
  jobId: string,
  opts: { maxPages?: number } = {},
): Promise<{ deletes: StagedDelete[]; complete: boolean }> {
  const latest = new Map<string, StagedDelete>();
  let nextLink: string | null = null;
  let pages = 0;
  do {
    const page = await graph.listProvisioningLogs({ jobId, top: 500, nextLink, provisioningAction: 'stagedDelete' });
    for (const e of page.items) {
      if ((e.provisioningAction ?? '').toLowerCase() !== 'stageddelete') continue;
      const s = toStaged(e);
      const key = s.targetId || s.target || s.source;
      const seen = latest.get(key);
      if (!seen || seen.when < s.when) latest.set(key, s);
    }
    nextLink = page.nextLink;
    pages++;
  } while (nextLink && pages < (opts.maxPages ?? 20));
  const deletes = [...latest.values()].sort((a, b) => b.when.localeCompare(a.when) || a.target.localeCompare(b.target));
  return { deletes, complete: !nextLink };
}
