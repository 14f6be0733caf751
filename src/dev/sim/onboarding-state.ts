/**
 * What the onboarding routes keep per tenant: app role assignments, each job's edited schema,
 * the settings a job's current run started with, on-demand runs (and their log entries) and the
 * provision-on-demand rate limit. Held by SimState, cleared with it.
 */

/** One appRoleAssignment on a resource service principal. */
export interface SimAssignment {
  id: string;
  resourceId: string;
  principalId: string;
  principalType: 'User' | 'Group' | 'ServicePrincipal';
  principalDisplayName: string;
  appRoleId: string;
  createdAt: number;
  /** Lists show it from then on (Microsoft: the list "might have replication delays"). */
  visibleAt: number;
}

/** A job's schema once read or written: its body and version. */
interface StoredSchema {
  body: Record<string, unknown>;
  version: number;
  updatedAt: number;
}

/** One provisioning-log entry written by an on-demand run (already in Graph's shape). */
type OnDemandLogEntry = Record<string, unknown> & { id: string; activityDateTime: string; jobId: string };

export class OnboardingState {
  /** Assignments by resource service principal id. */
  assignments = new Map<string, SimAssignment[]>();
  /** Job schemas that differ from the template's (after a PUT) or were read (to fix their rule ids). */
  schemas = new Map<string, StoredSchema>();
  /** `SyncAll` as saved when each job's current run started (undefined: not saved then). */
  syncAllAtStart = new Map<string, string | undefined>();
  /** Users (and groups) already provisioned on demand, per job: a second run is a RedundantExport. */
  provisioned = new Map<string, Set<string>>();
  /** Log entries of on-demand runs, per job. */
  onDemandLogs = new Map<string, OnDemandLogEntry[]>();
  /** Arrival times of provisionOnDemand calls per caller (app+tenant), for its 5-per-10-s limit. */
  onDemandCalls = new Map<string, number[]>();
  /** When a caller was last told to wait (429) and until when: a request before then is a violation. */
  onDemandTold = new Map<string, { sentAt: number; until: number }>();

  reset(): void {
    this.assignments.clear();
    this.schemas.clear();
    this.syncAllAtStart.clear();
    this.provisioned.clear();
    this.onDemandLogs.clear();
    this.onDemandCalls.clear();
    this.onDemandTold.clear();
  }

  assignmentsOf(spId: string): SimAssignment[] {
    let list = this.assignments.get(spId);
    if (!list) this.assignments.set(spId, (list = []));
    return list;
  }
}

/** Counters for the onboarding routes (part of `/_sim/stats`). */
export interface OnboardingStats {
  /** Assignments created (201). */
  appRoleAssignments: number;
  /** Duplicate assignments refused ("Permission being assigned already exists on the object"). */
  appRoleAssignmentsRefused: number;
  /** provisionOnDemand outcomes by result, and its own 429s and Retry-After violations. */
  provisionOnDemand: { Success: number; Skipped: number; Failure: number; throttled: number; violations: number };
  /** Accepted schema PUTs (and DELETEs, which restore the template's). */
  schemaUpdates: number;
}

export const emptyOnboardingStats = (): OnboardingStats => ({
  appRoleAssignments: 0,
  appRoleAssignmentsRefused: 0,
  provisionOnDemand: { Success: 0, Skipped: 0, Failure: 0, throttled: 0, violations: 0 },
  schemaUpdates: 0,
});
