/**
 * The simulated tenant's people: a few users and groups with fixed ids, the same in every
 * simulator (whatever the seed), so tests, the demo and batch files can name them.
 */

/** A seeded user, as `GET /users/{id}` shows it. */
interface SeedUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  mail: string;
  mailNickname: string;
  givenName: string;
  surname: string;
  department: string;
  jobTitle: string;
  accountEnabled: boolean;
}

/** A seeded security group, as `GET /groups/{id}` shows it, with its members' ids. */
interface SeedGroup {
  id: string;
  displayName: string;
  description: string;
  mailNickname: string;
  /** Role-assignable groups: assigning one to an app needs a privileged role (the simulator refuses it). */
  isAssignableToRole: boolean;
  members: string[];
}

const u = (n: number) => `5e1d0000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
const g = (n: number) => `6a0b0000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;

/** Seeded user ids by role in the story (stable: documented in docs/simulator-onboarding.md). */
export const SIM_USERS = {
  adele: u(1),
  alex: u(2),
  megan: u(3),
  diego: u(4),
  /** A canary user in Sales (assigned wherever Sales is): the usual smoke-test subject. */
  canary: u(5),
  /** In no group: skipped under scope "assigned" unless assigned directly. */
  unassigned: u(6),
  /** The target application always rejects this one: a smoke test with it fails. */
  failing: u(7),
  /** Disabled account: still provisioned (as inactive) like any other. */
  disabled: u(8),
} as const;

/** Seeded group ids. */
export const SIM_GROUPS = {
  sales: g(1),
  engineering: g(2),
  awsAdmins: g(3),
  awsDevelopers: g(4),
  /** Role-assignable: assigning it answers 403 Authorization_RequestDenied (a group that fails). */
  tier0: g(5),
} as const;

const domain = 'contoso.example';

function user(id: string, given: string, surname: string, department: string, jobTitle: string, enabled = true) {
  const nick = `${given}${surname[0] ?? ''}`.toLowerCase().replace(/[^a-z]/g, '');
  return {
    id,
    displayName: `${given} ${surname}`,
    userPrincipalName: `${nick}@${domain}`,
    mail: `${nick}@${domain}`,
    mailNickname: nick,
    givenName: given,
    surname,
    department,
    jobTitle,
    accountEnabled: enabled,
  } satisfies SeedUser;
}

export const SEED_USERS: readonly SeedUser[] = [
  user(SIM_USERS.adele, 'Adele', 'Vance', 'Sales', 'Account Executive'),
  user(SIM_USERS.alex, 'Alex', 'Wilber', 'Engineering', 'Software Engineer'),
  user(SIM_USERS.megan, 'Megan', 'Bowen', 'Engineering', 'Platform Lead'),
  user(SIM_USERS.diego, 'Diego', 'Siciliani', 'Engineering', 'Cloud Administrator'),
  user(SIM_USERS.canary, 'Canary', 'Tester', 'Sales', 'Provisioning Canary'),
  user(SIM_USERS.unassigned, 'Nestor', 'Wilke', 'Operations', 'Facilities'),
  user(SIM_USERS.failing, 'Fail', 'Always', 'Sales', 'Rejected By Target'),
  user(SIM_USERS.disabled, 'Lidia', 'Holloway', 'Sales', 'Former Employee', false),
];

export const SEED_GROUPS: readonly SeedGroup[] = [
  {
    id: SIM_GROUPS.sales,
    displayName: 'Sales',
    description: 'Sales department',
    mailNickname: 'sales',
    isAssignableToRole: false,
    members: [SIM_USERS.adele, SIM_USERS.canary, SIM_USERS.failing, SIM_USERS.disabled],
  },
  {
    id: SIM_GROUPS.engineering,
    displayName: 'Engineering',
    description: 'Engineering department',
    mailNickname: 'engineering',
    isAssignableToRole: false,
    members: [SIM_USERS.alex, SIM_USERS.megan, SIM_USERS.diego],
  },
  {
    id: SIM_GROUPS.awsAdmins,
    displayName: 'AWS Admins',
    description: 'Administrators of the AWS accounts',
    mailNickname: 'aws-admins',
    isAssignableToRole: false,
    members: [SIM_USERS.diego, SIM_USERS.megan],
  },
  {
    id: SIM_GROUPS.awsDevelopers,
    displayName: 'AWS Developers',
    description: 'Developers with read-only AWS access',
    mailNickname: 'aws-developers',
    isAssignableToRole: false,
    members: [SIM_USERS.alex],
  },
  {
    id: SIM_GROUPS.tier0,
    displayName: 'Tier0 Admins',
    description: 'Role-assignable group: app assignment needs a privileged role',
    mailNickname: 'tier0-admins',
    isAssignableToRole: true,
    members: [SIM_USERS.diego],
  },
];

export const seedUser = (id: string) => SEED_USERS.find((x) => x.id === id);
export const seedGroup = (id: string) => SEED_GROUPS.find((x) => x.id === id);

/** The user as Graph shows it (v1.0 default properties and a few more). */
export const userView = (x: SeedUser) => ({
  id: x.id,
  businessPhones: [],
  displayName: x.displayName,
  givenName: x.givenName,
  jobTitle: x.jobTitle,
  mail: x.mail,
  mobilePhone: null,
  officeLocation: null,
  preferredLanguage: 'en-US',
  surname: x.surname,
  userPrincipalName: x.userPrincipalName,
  accountEnabled: x.accountEnabled,
  department: x.department,
  mailNickname: x.mailNickname,
});

/** The group as Graph shows it (members are a relationship, not a property). */
export const groupView = (x: SeedGroup) => ({
  id: x.id,
  deletedDateTime: null,
  createdDateTime: '2024-01-15T09:00:00Z',
  description: x.description,
  displayName: x.displayName,
  groupTypes: [],
  isAssignableToRole: x.isAssignableToRole,
  mail: null,
  mailEnabled: false,
  mailNickname: x.mailNickname,
  securityEnabled: true,
  visibility: null,
});
