/**
 * `/servicePrincipals/{id}/synchronization/…`: the service principal's sync templates and
 * secrets here; its jobs in jobs.ts (after the same lookup of the service principal).
 */
import { sendGraph, sendGraphError, type SimContext } from '../http.ts';
import { syncTemplateFor } from '../directory.ts';
import type { SimState } from '../state.ts';
import { watchSp } from '../settle.ts';
import { earliestExpiry } from '../expiry.ts';
import { readBackSecrets } from '../sync-scope.ts';
import { spOr404 } from './lookup.ts';
import { handleJobRoutes } from './jobs.ts';

/** Graph's synchronizationSecret enum: PUT secrets refuses any other key. */
const SYNCHRONIZATION_SECRETS: ReadonlySet<string> = new Set([
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
]);

/** Handles the synchronization routes of a service principal; false when no route matched. */
export function handleSynchronizationRoutes(st: SimState, ctx: SimContext, seg: string[], now: number): boolean {
  const { method } = ctx;
  if (seg[0] !== 'servicePrincipals' || seg[2] !== 'synchronization') return false;
  const write = method !== 'GET';
  const sp = spOr404(st, ctx, seg[1]!, now, write);
  if (!sp) return true;
  const rest = seg.slice(3);
  const ctxUrl = `${ctx.url.origin}/${ctx.apiVersion}/$metadata#servicePrincipals('${sp.id}')/synchronization`;
  if (rest[0] === 'templates' && rest.length === 1 && method === 'GET') {
    sendGraph(ctx, 200, { '@odata.context': `${ctxUrl}/templates`, value: syncTemplateFor(sp) });
    return true;
  }
  if (rest[0] === 'secrets' && rest.length === 1) {
    if (method === 'PUT') {
      const value = (ctx.body as { value?: unknown } | undefined)?.value;
      const pair = (v: unknown) => !!v && typeof v === 'object' && typeof (v as { key?: unknown }).key === 'string';
      if (!Array.isArray(value) || !value.every(pair)) {
        sendGraphError(ctx, 400, 'BadRequest', 'The request body must be {value:[{key,value}]}.');
        return true;
      }
      // Graph rejects a key outside the synchronizationSecret enum.
      const unknown = (value as { key: string }[]).find((v) => !SYNCHRONIZATION_SECRETS.has(v.key));
      if (unknown) {
        const why = `Requested value '${unknown.key}' was not found in enum 'synchronizationSecret'.`;
        sendGraphError(ctx, 400, 'BadRequest', why);
        return true;
      }
      const pairs = value as { key: string; value?: unknown }[];
      st.secrets.set(
        sp.id,
        pairs.map((v) => ({ key: v.key, value: String(v.value ?? '') })),
      );
      // Only a saved expiry can change a running job at a later cycle.
      if (earliestExpiry(st.secrets.get(sp.id)!)) watchSp(st, sp.id);
      sendGraph(ctx, 204);
      return true;
    }
    if (method === 'GET') {
      const masked = readBackSecrets(st.secrets.get(sp.id) ?? []);
      sendGraph(ctx, 200, { '@odata.context': `${ctxUrl}/secrets`, value: masked });
      return true;
    }
  }
  if (rest[0] === 'jobs') return handleJobRoutes(st, ctx, sp, rest, `${ctxUrl}/jobs`, now);
  return false;
}
