/** The batch page's instance table: sorting, filtering by state, text and attention, and the cells' text. */
import type { InstanceRecord } from '../ledger/ledger.ts';
import { attentionReason, runningLongAfterMs } from '../ui/status-view.ts';

export const failuresText = (r: InstanceRecord) =>
  Object.entries(r.logFailures)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code}×${n}`)
    .join(', ');
export const quarantineText = (r: InstanceRecord) =>
  r.quarantineReason
    ? `${r.quarantineReason}${r.quarantineNextAttempt ? ` (next attempt ${r.quarantineNextAttempt})` : ''}`
    : '';

export type SortKey =
  'instance' | 'state' | 'jobCode' | 'lastExecution' | 'quarantine' | 'failures' | 'started' | 'index';
const SORTS: Record<SortKey, (r: InstanceRecord) => string | number> = {
  index: (r) => r.index,
  instance: (r) => r.displayName.toLowerCase(),
  state: (r) => r.state,
  jobCode: (r) => r.jobCode ?? '',
  lastExecution: (r) => r.lastExecution ?? '',
  quarantine: (r) => quarantineText(r),
  failures: (r) => Object.values(r.logFailures).reduce((a, b) => a + b, 0),
  started: (r) => r.startedAt ?? 0,
};

export interface TableQuery {
  sort: SortKey;
  dir: 'asc' | 'desc';
  state: string;
  q: string;
  attention: boolean;
  /** Only this tenant's instances ('' = all). */
  tenant: string;
}

export function parseQuery(qs: Record<string, unknown>): TableQuery {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const sort = Object.hasOwn(SORTS, str(qs.sort)) ? (str(qs.sort) as SortKey) : 'index'; // not 'constructor' &c.
  return {
    sort,
    dir: str(qs.dir) === 'desc' ? 'desc' : 'asc',
    state: str(qs.state),
    q: str(qs.q).slice(0, 200),
    attention: str(qs.attention) === '1',
    tenant: str(qs.tenant).slice(0, 64),
  };
}

/** The rows a query selects, in its order. */
export function selectRows(rows: readonly InstanceRecord[], q: TableQuery, now = Date.now()): InstanceRecord[] {
  const needle = q.q.toLowerCase();
  const longMs = runningLongAfterMs(rows);
  const picked = rows.filter(
    (r) =>
      (!q.state || r.state === q.state) &&
      (!q.tenant || r.tenant === q.tenant) &&
      (!q.attention || attentionReason(r, now, longMs) !== null) &&
      (!needle ||
        [r.displayName, r.lastError, r.warning, r.quarantineReason, r.jobCode, failuresText(r)].some((v) =>
          v?.toLowerCase().includes(needle),
        )),
  );
  const key = SORTS[q.sort];
  const sign = q.dir === 'desc' ? -1 : 1;
  return picked.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return (ka < kb ? -1 : ka > kb ? 1 : a.index - b.index) * sign;
  });
}
