/**
 * The app roles a service principal offers. Gallery apps ship `User` and `msiam_access`; AWS
 * Single-Account Access also gets the IAM roles its provisioning job imports — only once a run
 * of the job has completed its first cycle with working credentials, as in Entra.
 */
import { createHash } from 'node:crypto';
import { catalogueEntry } from './catalogue.ts';
import { guid, type SimJob, type SimSp } from './directory.ts';
import type { SimulatorSettings } from './settings.ts';

/** Graph's "Default Access" role: assignable on any service principal without being listed. */
export const DEFAULT_ACCESS_ROLE_ID = '00000000-0000-0000-0000-000000000000';

/** The IAM roles every simulated AWS account has (imported as app roles after the first cycle). */
const AWS_IMPORTED_ROLE_NAMES = ['Admin', 'Developer', 'ReadOnly'] as const;
/** The SAML identity provider those roles trust, in every simulated AWS account. */
const AWS_SAML_PROVIDER = 'AzureAD';

export interface SimAppRole {
  allowedMemberTypes: string[];
  description: string;
  displayName: string;
  id: string;
  isEnabled: boolean;
  origin: string;
  value: string | null;
}

const GALLERY_ROLES: SimAppRole[] = [
  {
    allowedMemberTypes: ['User'],
    description: 'User',
    displayName: 'User',
    id: '18d14569-c3bd-439b-9a66-3a2aee01d14f',
    isEnabled: true,
    origin: 'Application',
    value: null,
  },
  {
    allowedMemberTypes: ['User'],
    description: 'msiam_access',
    displayName: 'msiam_access',
    id: '7dfd756e-8c27-4472-b2b7-38c17fc5de5e',
    isEnabled: true,
    origin: 'Application',
    value: null,
  },
];

/** The simulated AWS account of a service principal (12 digits, stable per instance). */
function awsAccountOf(sp: SimSp): string {
  const n = BigInt(`0x${createHash('sha1').update(sp.id).digest('hex').slice(0, 12)}`) % 1_000_000_000_000n;
  return n.toString().padStart(12, '0');
}

/** The app roles the AWS import creates for this instance (ids stable per instance and role). */
function awsImportedRoles(sp: SimSp): SimAppRole[] {
  const account = awsAccountOf(sp);
  const provider = `arn:aws:iam::${account}:saml-provider/${AWS_SAML_PROVIDER}`;
  return AWS_IMPORTED_ROLE_NAMES.map((name) => ({
    allowedMemberTypes: ['User'],
    description: `Imported from AWS: arn:aws:iam::${account}:role/${name}`,
    displayName: name,
    id: guid(`${sp.id}|aws-role|${name}`),
    isEnabled: true,
    origin: 'ServicePrincipal',
    value: `arn:aws:iam::${account}:role/${name},${provider}`,
  }));
}

/** Whether some run of these jobs (deleted ones included) finished a first cycle by `now`. */
function rolesImported(jobs: Iterable<SimJob>, s: SimulatorSettings, now: number): boolean {
  for (const job of jobs) {
    for (const run of job.runs) {
      const firstEnd = run.startedAt + s.firstCycleMs;
      if (!run.cause && firstEnd <= now && (run.endedAt === null || firstEnd <= run.endedAt)) return true;
    }
  }
  return false;
}

/** The service principal's `appRoles` at `now`; `jobs` are its jobs (all, deleted ones too). */
export function appRolesOf(sp: SimSp, jobs: Iterable<SimJob>, s: SimulatorSettings, now: number): SimAppRole[] {
  const c = catalogueEntry(sp.applicationTemplateId);
  if (c?.syncTemplateId !== 'aws') return GALLERY_ROLES;
  const base = GALLERY_ROLES.filter((r) => r.displayName === 'msiam_access');
  return rolesImported(jobs, s, now) ? [...base, ...awsImportedRoles(sp)] : base;
}

/** Every job ever created, by service principal (one pass: lists of thousands stay cheap). */
export function jobsBySp(all: Iterable<SimJob>): Map<string, SimJob[]> {
  const out = new Map<string, SimJob[]>();
  for (const j of all) {
    const list = out.get(j.spId);
    if (list) list.push(j);
    else out.set(j.spId, [j]);
  }
  return out;
}
