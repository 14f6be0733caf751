/** AES-256-GCM sealing: round trip, wrong key, tampering, rotation, context binding, no leaks. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateSecretKey,
  isSealed,
  loadSecretKeys,
  openSealed,
  openSecretPairs,
  parseSecretKey,
  seal,
  SealedValueError,
  sealSecretPairs,
  SecretKeyError,
} from '../../src/secrets/seal.ts';

const PLAINTEXT = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** Replaces one character of part `part` (0-based, of the dot-separated parts) with another valid one. */
function tamper(sealed: string, part: number, at = 0): string {
  const parts = sealed.split('.');
  const s = parts[part]!;
  const c = s[at]!;
  parts[part] = s.slice(0, at) + (c === 'A' ? 'B' : 'A') + s.slice(at + 1);
  return parts.join('.');
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('parseSecretKey', () => {
  const bytes = randomBytes(32);

  it('accepts 32 bytes as base64, base64url (with or without padding) or 64 hex', () => {
    const fromB64 = parseSecretKey(bytes.toString('base64'));
    expect(fromB64.bytes.equals(bytes)).toBe(true);
    expect(fromB64.id).toMatch(/^[0-9a-f]{8}$/);
    expect(parseSecretKey(bytes.toString('base64url')).id).toBe(fromB64.id);
    expect(parseSecretKey(` ${bytes.toString('hex')}\n`).id).toBe(fromB64.id);
    expect(parseSecretKey(bytes.toString('hex').toUpperCase()).id).toBe(fromB64.id);
  });

  it.each([
    '',
    'short',
    randomBytes(16).toString('base64'),
    randomBytes(33).toString('base64'),
    'z'.repeat(64),
    'not base64 at all!!',
  ])('rejects %j, naming the variable and how to make a key', (raw) => {
    const error = errorOf(() => parseSecretKey(raw));
    expect(error).toBeInstanceOf(SecretKeyError);
    expect(error.message).toContain('PROVFLOW_SECRET_KEY');
    expect(error.message).toContain('openssl rand -base64 32');
  });
});

describe('loadSecretKeys', () => {
  const current = randomBytes(32).toString('base64');
  const previous = randomBytes(32).toString('hex');

  it('reads the current and the previous key', () => {
    const keys = loadSecretKeys({ PROVFLOW_SECRET_KEY: current, PROVFLOW_SECRET_KEY_PREVIOUS: previous });
    expect(keys.map((k) => k.id)).toEqual([parseSecretKey(current).id, parseSecretKey(previous).id]);
    expect(loadSecretKeys({ PROVFLOW_SECRET_KEY: current })).toHaveLength(1);
  });

  it('names the missing or malformed variable', () => {
    expect(errorOf(() => loadSecretKeys({})).message).toMatch(
      /PROVFLOW_SECRET_KEY is not set.*openssl rand -base64 32/,
    );
    expect(
      errorOf(() => loadSecretKeys({ PROVFLOW_SECRET_KEY: current, PROVFLOW_SECRET_KEY_PREVIOUS: 'bad' })).message,
    ).toContain('PROVFLOW_SECRET_KEY_PREVIOUS');
  });
});

describe('seal / openSealed', () => {
  const key = generateSecretKey();

  it('round-trips, including empty and non-ASCII text', () => {
    for (const text of [PLAINTEXT, '', 'Zürich 東京 🚀', 'x'.repeat(100_000)]) {
      expect(openSealed(key, seal(key, text))).toBe(text);
      expect(openSealed([key], seal(key, text, 'ctx'), 'ctx')).toBe(text);
    }
  });

  it('has the documented format and never contains the plaintext', () => {
    const sealed = seal(key, PLAINTEXT, 'batch.instance');
    expect(sealed).toMatch(new RegExp(`^v1\\.${key.id}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]+$`));
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain(PLAINTEXT);
    expect(sealed).not.toContain(Buffer.from(PLAINTEXT).toString('base64url'));
    expect(sealed).not.toContain(Buffer.from(PLAINTEXT).toString('base64'));
    // A fresh IV each time: equal plaintexts do not give equal sealed values.
    expect(seal(key, PLAINTEXT)).not.toBe(seal(key, PLAINTEXT));
  });

  it('refuses the wrong key, naming the key id only', () => {
    const sealed = seal(key, PLAINTEXT);
    const other = generateSecretKey();
    const error = errorOf(() => openSealed(other, sealed));
    expect(error).toBeInstanceOf(SealedValueError);
    expect(error.message).toContain(key.id);
    expect(error.message).toContain('PROVFLOW_SECRET_KEY_PREVIOUS');
    // Same id, different bytes (forged header): authentication fails.
    const forged = { id: key.id, bytes: other.bytes };
    expect(errorOf(() => openSealed(forged, sealed))).toBeInstanceOf(SealedValueError);
  });

  it('detects tampering with the iv, tag, ciphertext or header, without echoing it', () => {
    const sealed = seal(key, PLAINTEXT, 'ctx');
    const variants = [
      tamper(sealed, 2),
      tamper(sealed, 3),
      tamper(sealed, 4),
      tamper(sealed, 4, 5),
      sealed.replace(/^v1/, 'v2'),
      sealed.slice(0, -3),
    ];
    for (const bad of variants) {
      const error = errorOf(() => openSealed(key, bad, 'ctx'));
      expect(error).toBeInstanceOf(SealedValueError);
      expect(error.message).not.toContain(bad.split('.')[4]!);
      expect(error.message).not.toContain(PLAINTEXT);
    }
    expect(errorOf(() => openSealed(key, 'garbage', 'ctx')).message).toMatch(/not a sealed value/);
  });

  it('binds the context (aad)', () => {
    const sealed = seal(key, PLAINTEXT, 'batch-a.instance-1');
    expect(errorOf(() => openSealed(key, sealed, 'batch-a.instance-2')).message).toMatch(/different context/);
    expect(errorOf(() => openSealed(key, sealed))).toBeInstanceOf(SealedValueError);
    expect(errorOf(() => openSealed(key, seal(key, PLAINTEXT), 'x'))).toBeInstanceOf(SealedValueError);
  });

  it('supports rotation: old values open with [new, old], new values use the new key', () => {
    const oldKey = generateSecretKey();
    const newKey = generateSecretKey();
    const before = seal(oldKey, PLAINTEXT, 'ctx');
    const keys = loadSecretKeys({
      PROVFLOW_SECRET_KEY: newKey.bytes.toString('base64'),
      PROVFLOW_SECRET_KEY_PREVIOUS: oldKey.bytes.toString('base64'),
    });
    expect(openSealed(keys, before, 'ctx')).toBe(PLAINTEXT);
    const after = seal(keys[0]!, PLAINTEXT, 'ctx');
    expect(after.split('.')[1]).toBe(newKey.id);
    expect(openSealed([newKey], after, 'ctx')).toBe(PLAINTEXT);
    // Once the previous key is dropped, values sealed under it no longer open.
    expect(errorOf(() => openSealed([newKey], before, 'ctx')).message).toContain(oldKey.id);
  });
});

describe('sealSecretPairs / openSecretPairs', () => {
  const key = generateSecretKey();
  const pairs = [
    { key: 'ClientSecret', value: 'AKIA-not-real' },
    { key: 'SecretToken', value: PLAINTEXT },
    { key: 'SyncNotificationSettings', value: '{"Enabled":false}' },
  ];

  it('round-trips pairs bound to an instance and hides keys and values', () => {
    const sealed = sealSecretPairs(key, pairs, 'batch.aws-prod-0123456789');
    expect(openSecretPairs([key], sealed, 'batch.aws-prod-0123456789')).toEqual(pairs);
    for (const p of pairs) {
      expect(sealed).not.toContain(p.value);
      expect(sealed).not.toContain(p.key);
    }
    expect(errorOf(() => openSecretPairs(key, sealed, 'batch.other-instance'))).toBeInstanceOf(SealedValueError);
  });

  it('refuses a sealed value that does not hold pairs', () => {
    const sealed = seal(key, 'plain text', 'ctx');
    expect(errorOf(() => openSecretPairs(key, sealed, 'ctx')).message).toMatch(/credential pairs/);
  });
});
