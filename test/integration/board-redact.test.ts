/** Masking and Basic-auth primitives of the board (pure functions; no Redis needed). */
import { describe, expect, it } from 'vitest';
import { credentialsMatch, parseBasicAuth } from '../../src/board/basic-auth.ts';
import { isLoopbackHost } from '../../src/board/run-board.ts';
import { REDACTED, isSensitiveKey, maskSensitive, redactResponse, redactText } from '../../src/board/redact.ts';

describe('maskSensitive', () => {
  it('hides sensitive fields at any depth and keeps identifiers and status flags', () => {
    const masked = maskSensitive({
      instance: { batchId: 'b1', instanceKey: 'acct-001', displayName: 'AWS 001' },
      credentials: [{ key: 'ClientSecret', value: 's3cr3t' }],
      nested: {
        deeper: [
          { clientSecret: 'x', apiKey: 'y', refresh_token: 'z', password: 'p', sealedCredentials: 'v1.k3y1d.aaa' },
        ],
      },
      prev: { servicePrincipalId: 'sp', secretsSaved: true, credentialsValidated: false, jobId: 'aws.1' },
      note: null,
    }) as any;
    expect(masked.instance).toEqual({ batchId: 'b1', instanceKey: 'acct-001', displayName: 'AWS 001' });
    expect(masked.credentials).toBe(REDACTED);
    expect(masked.nested.deeper[0]).toEqual({
      clientSecret: REDACTED,
      apiKey: REDACTED,
      refresh_token: REDACTED,
      password: REDACTED,
      sealedCredentials: REDACTED,
    });
    expect(masked.prev).toEqual({
      servicePrincipalId: 'sp',
      secretsSaved: true,
      credentialsValidated: false,
      jobId: 'aws.1',
    });
  });

  it("hides the value of Graph's { key, value } secret pairs whatever the key", () => {
    expect(
      maskSensitive({
        value: [
          { key: 'BaseAddress', value: 'https://scim.example' },
          { key: 'SecretToken', value: 't' },
        ],
      }),
    ).toEqual({
      value: [
        { key: 'BaseAddress', value: REDACTED },
        { key: 'SecretToken', value: REDACTED },
      ],
    });
  });

  it('redacts secret-shaped strings under innocent names, and does not mutate its input', () => {
    const input = { message: 'sent Bearer abc', blob: 'v1.abcd1234.x.y.z' };
    expect(maskSensitive(input)).toEqual({ message: `sent Bearer ${REDACTED}`, blob: REDACTED });
    expect(input.blob).toBe('v1.abcd1234.x.y.z');
  });

  it('classifies key names', () => {
    for (const k of ['secret', 'ClientSecret', 'accessToken', 'PASSWORD', 'credentials', 'sealed', 'privateKey', 'key'])
      expect(isSensitiveKey(k), k).toBe(true);
    for (const k of ['instanceKey', 'repeatJobKey', 'displayName', 'jobId', 'keys'])
      expect(isSensitiveKey(k), k).toBe(false);
  });
});

describe('redactText', () => {
  it.each([
    ['Authorization: Bearer eyJplant', `Authorization: Bearer ${REDACTED}`],
    ['bearer abc.def-ghi_jkl, next', `Bearer ${REDACTED}, next`],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig end', `token ${REDACTED} end`],
    ['sealed v1.abcd1234.x.y.z here', `sealed ${REDACTED} here`],
    [
      'grant_type=client_credentials&client_secret=abc&scope=x',
      `grant_type=client_credentials&client_secret=${REDACTED}&scope=x`,
    ],
    ['body {"clientSecret":"abc","name":"n"}', `body {"clientSecret":"${REDACTED}","name":"n"}`],
  ])('%s', (input, output) => {
    expect(redactText(input)).toBe(output);
  });

  it('leaves ordinary text alone, Graph URLs with /v1.0/ included', () => {
    const s = 'GET https://graph.microsoft.com/v1.0/servicePrincipals/123 answered 404 Request_ResourceNotFound';
    expect(redactText(s)).toBe(s);
  });

  it('redactResponse walks a whole API body', () => {
    const body = {
      job: {
        failedReason: 'Bearer x',
        stacktrace: ['at v1.abcd1234.zz'],
        data: { password: 'p' },
        opts: { jobId: 'j' },
      },
    };
    expect(redactResponse(body)).toEqual({
      job: {
        failedReason: `Bearer ${REDACTED}`,
        stacktrace: [`at ${REDACTED}`],
        data: { password: REDACTED },
        opts: { jobId: 'j' },
      },
    });
  });
});

describe('basic auth primitives', () => {
  const expected = { username: 'ops', password: 'p:ss word' };
  it('matches only the exact pair, whatever the lengths', () => {
    expect(credentialsMatch(expected, 'ops', 'p:ss word')).toBe(true);
    expect(credentialsMatch(expected, 'ops', 'p:ss wor')).toBe(false);
    expect(credentialsMatch(expected, 'ops', 'p:ss word'.repeat(100))).toBe(false);
    expect(credentialsMatch(expected, 'opz', 'p:ss word')).toBe(false);
    expect(credentialsMatch(expected, '', '')).toBe(false);
  });

  it('parses the header, keeping colons in the password', () => {
    const header = `Basic ${Buffer.from('ops:p:ss word').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ user: 'ops', password: 'p:ss word' });
    expect(parseBasicAuth(undefined)).toBeNull();
    expect(parseBasicAuth('Basic ' + Buffer.from('nocolon').toString('base64'))).toBeNull();
    expect(parseBasicAuth('Digest abc')).toBeNull();
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'board.example.com', '128.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});
