/** Masking credential values for display. */
import { describe, expect, it } from 'vitest';
import { maskSecretPairs, REDACTED } from '../../src/secrets/mask.ts';

describe('maskSecretPairs', () => {
  it('masks secret-valued and unknown keys, keeps plain settings', () => {
    expect(
      maskSecretPairs([
        { key: 'SecretToken', value: 't' },
        { key: 'ClientSecret', value: 'c' },
        { key: 'BaseAddress', value: 'https://scim.example.com' },
        { key: 'Whatever', value: 'w' },
      ]),
    ).toEqual([
      { key: 'SecretToken', value: REDACTED },
      { key: 'ClientSecret', value: REDACTED },
      { key: 'BaseAddress', value: 'https://scim.example.com' },
      { key: 'Whatever', value: REDACTED },
    ]);
  });

  it('masks everything on request', () => {
    expect(maskSecretPairs([{ key: 'BaseAddress', value: 'x' }], { maskAll: true })).toEqual([
      { key: 'BaseAddress', value: REDACTED },
    ]);
  });
});
