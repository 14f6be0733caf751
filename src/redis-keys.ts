/**
 * Where a tenant's keys live. Redis Cluster places a key by the text inside its first `{…}` (the
 * hash tag), so each tenant gets its own tag: every key of one tenant (its queues and flows, its
 * ledger and batch index, its limiter windows) shares one slot, and tenants spread over the
 * masters. Nothing that one Lua script, MULTI or pipeline touches ever spans two tenants.
 * The tenant `default` keeps the deployment's prefix unchanged, so a single-tenant deployment's
 * keys are the ones it always had. See docs/adr/0007-redis-cluster.md.
 */

/** The tenant of a deployment without a tenants file (and of every key written before tenants existed). */
export const DEFAULT_TENANT = 'default';

/**
 * Lower-case letters, digits and "-" (not first or last), 1–32 long: a tenant name goes into a hash
 * tag, keys, queue names and metric labels, and batch files name the tenant by it.
 */
export const TENANT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Why `name` cannot be a tenant name, or null when it can. */
export function tenantNameProblem(name: string): string | null {
  if (TENANT_NAME_PATTERN.test(name)) return null;
  return (
    `tenant name ${JSON.stringify(name.slice(0, 60))} must be 1–32 lower-case letters, digits or '-' ` +
    '(not first or last), e.g. "contoso-prod"'
  );
}

/**
 * The key prefix of a tenant's keys. `default` → `base` itself; any other tenant → `{tag@tenant}`
 * where `tag` is the base with its braces removed: `{provflow}` + `contoso` → `{provflow@contoso}`.
 * `@` cannot occur in a tenant name, so two (base, tenant) pairs never share a prefix.
 */
export function tenantPrefix(base: string, tenant: string): string {
  if (tenant === DEFAULT_TENANT) return base;
  const problem = tenantNameProblem(tenant);
  if (problem) throw new Error(problem);
  return `{${base.replace(/[{}]/g, '')}@${tenant}}`;
}

/** The hash tag Redis Cluster hashes for `key` (the whole key when it has none), per the Cluster spec. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** True when `prefix` starts keys with a hash tag (BullMQ on Redis Cluster needs one). */
export function hasHashTag(prefix: string): boolean {
  return hashTagOf(prefix) !== prefix;
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** The Redis Cluster slot of `key` (CRC16/XMODEM of its hash tag, mod 16384), as `CLUSTER KEYSLOT` says. */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTagOf(key), 'utf8'))
    crc = ((crc << 8) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!) & 0xffff;
  return crc % 16384;
}

/**
 * Tenants that ever had work enqueued, kept at the deployment's prefix (one set, one slot) so the
 * cross-tenant views (status, the board, the batch list) know whose keys to read, one tenant at a time.
 */
export const tenantRegistryKey = (base: string): string => `${base}:pf:tenants`;
