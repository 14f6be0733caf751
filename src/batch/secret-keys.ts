/**
 * The keys Graph accepts in `PUT …/synchronization/secrets` and `validateCredentials`
 * (the `synchronizationSecret` enum, 45 members, in Microsoft's published order), and which of
 * them hold credentials rather than plain settings.
 */
import { closestMatch } from './edit-distance.ts';

/** Every member of Graph's `synchronizationSecret` enum (beta and v1.0 agree). */
export const SYNCHRONIZATION_SECRET_KEYS = [
  'None',
  'UserName',
  'Password',
  'SecretToken',
  'AppKey',
  'BaseAddress',
  'ClientIdentifier',
  'ClientSecret',
  'SingleSignOnType',
  'Sandbox',
  'Url',
  'Domain',
  'ConsumerKey',
  'ConsumerSecret',
  'TokenKey',
  'TokenExpiration',
  'Oauth2AccessToken',
  'Oauth2AccessTokenCreationTime',
  'Oauth2RefreshToken',
  'SyncAll',
  'InstanceName',
  'Oauth2ClientId',
  'Oauth2ClientSecret',
  'CompanyId',
  'UpdateKeyOnSoftDelete',
  'SynchronizationSchedule',
  'SystemOfRecord',
  'SandboxName',
  'EnforceDomain',
  'SyncNotificationSettings',
  'SkipOutOfScopeDeletions',
  'Oauth2AuthorizationCode',
  'Oauth2RedirectUri',
  'ApplicationTemplateIdentifier',
  'Oauth2TokenExchangeUri',
  'Oauth2AuthorizationUri',
  'AuthenticationType',
  'Server',
  'PerformInboundEntitlementGrants',
  'HardDeletesEnabled',
  'SyncAgentCompatibilityKey',
  'SyncAgentADContainer',
  'ValidateDomain',
  'TestReferences',
  'ConnectionString',
] as const;

/** A `synchronizationSecret` key. */
export type SynchronizationSecretKey = (typeof SYNCHRONIZATION_SECRET_KEYS)[number];

/**
 * Keys whose values are credentials: they must be masked wherever they are shown.
 * When in doubt a key is listed here: masking a harmless value costs a little debugging
 * comfort, showing a credential costs an incident. (All values, secret or not, are sealed at
 * rest anyway: settings such as BaseAddress can name internal endpoints.)
 */
export const SECRET_VALUED_KEYS: ReadonlySet<SynchronizationSecretKey> = new Set<SynchronizationSecretKey>([
  'Password',
  'SecretToken',
  'AppKey',
  'ClientSecret',
  // An OAuth 1 consumer key is identifier-like, but some gallery apps treat it as the credential.
  'ConsumerKey',
  'ConsumerSecret',
  'TokenKey',
  'Oauth2AccessToken',
  'Oauth2RefreshToken',
  'Oauth2ClientSecret',
  'Oauth2AuthorizationCode',
  'SyncAgentCompatibilityKey',
  // Connection strings embed passwords.
  'ConnectionString',
]);

const KEY_SET: ReadonlySet<string> = new Set(SYNCHRONIZATION_SECRET_KEYS);
// `None` is the enum's placeholder: valid, but never what someone meant to type.
const SUGGESTIBLE_KEYS = SYNCHRONIZATION_SECRET_KEYS.filter((k) => k !== 'None');

/** True when `key` is a `synchronizationSecret` member (exact spelling: Graph is not lenient). */
export function isSynchronizationSecretKey(key: string): key is SynchronizationSecretKey {
  return KEY_SET.has(key);
}

/** True when the value stored under `key` is a credential and must never be shown. */
export function isSecretValuedKey(key: string): boolean {
  return (SECRET_VALUED_KEYS as ReadonlySet<string>).has(key);
}

/** The known key closest to a misspelt one (`clientsecret` → `ClientSecret`), or null. */
export function suggestSecretKey(key: string): SynchronizationSecretKey | null {
  return closestMatch(key, SUGGESTIBLE_KEYS) as SynchronizationSecretKey | null;
}
