import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactString, REDACTED } from '../../src/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger redaction', () => {
  it.each([
    ['headers.authorization', { headers: { authorization: 'Bearer eyJSECRET' } }],
    ['nested headers', { req: { headers: { authorization: 'Bearer eyJSECRET' } } }],
    ['token', { token: 'eyJSECRET' }],
    ['*.accessToken', { result: { accessToken: 'eyJSECRET' } }],
    ['*.clientSecret', { auth: { clientSecret: 'SECRET' } }],
    ['clientSecret', { clientSecret: 'SECRET' }],
    ['credentials[*].value', { credentials: [{ key: 'SecretToken', value: 'SECRET' }] }],
    ['*.credentials[*].value', { body: { credentials: [{ key: 'SecretToken', value: 'SECRET' }] } }],
    ['*.secrets', { instance: { secrets: [{ key: 'ClientSecret', value: 'SECRET' }] } }],
    ['*.password', { cfg: { password: 'SECRET' } }],
    ['*.privateKey', { cert: { privateKey: '-----BEGIN PRIVATE KEY-----SECRET' } }],
  ])('%s', (_n, obj) => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', name: 't', destination }).info(obj, 'msg');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('SECRET');
    expect(lines[0]).toContain(REDACTED);
  });

  it('keeps non-secret fields and credential keys', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', destination }).info(
      { requestId: 'r-1', credentials: [{ key: 'BaseAddress', value: 'x' }] },
      'm',
    );
    expect(lines[0]).toContain('r-1');
    expect(lines[0]).toContain('BaseAddress');
  });

  it('respects level', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'warn', destination }).info('hidden');
    expect(lines).toHaveLength(0);
  });
});

describe('redactString', () => {
  it.each([
    ['one secret', 'bad secret s3cr3t given', ['s3cr3t'], `bad secret ${REDACTED} given`],
    ['repeated', 'a s3 b s3', ['s3'], `a ${REDACTED} b ${REDACTED}`],
    ['longest first', 'token abcdef', ['abc', 'abcdef'], `token ${REDACTED}`],
    ['empty and nullish secrets ignored', 'keep me', ['', null, undefined], 'keep me'],
    ['regex metacharacters are literal', 'x a.b*c y', ['a.b*c'], `x ${REDACTED} y`],
    [
      'bearer tokens always masked',
      'sent Authorization: Bearer eyJ0eXAiOiJKV1Q.abc.def',
      [],
      `sent Authorization: Bearer ${REDACTED}`,
    ],
  ])('%s', (_n, s, secrets, expected) => {
    expect(redactString(s, secrets)).toBe(expected);
  });
});
