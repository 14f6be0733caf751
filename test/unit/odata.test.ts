import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/graph/errors.ts';
import { and, buildQuery, eq, gtDateTime, odataString, segment } from '../../src/graph/odata.ts';

describe('odataString', () => {
  it.each([
    ['plain', 'Contoso', "'Contoso'"],
    ['apostrophes doubled', "O'Brien's AWS", "'O''Brien''s AWS'"],
    ['leading/trailing quote', "'x'", "'''x'''"],
    ['only a quote', "'", "''''"],
    ['empty', '', "''"],
    [
      'injection attempt stays inside the literal',
      "x' or 1 eq 1 or displayName eq '",
      "'x'' or 1 eq 1 or displayName eq '''",
    ],
    ['non-ASCII untouched', 'Müller – 東京 ✓', "'Müller – 東京 ✓'"],
    ['double quotes untouched', 'say "hi"', `'say "hi"'`],
  ])('%s', (_n, input, expected) => {
    expect(odataString(input)).toBe(expected);
  });
});

describe('filters', () => {
  it('eq and and()', () => {
    expect(and(eq('displayName', "O'Brien's AWS"), eq('applicationTemplateId', 'abc'))).toBe(
      "displayName eq 'O''Brien''s AWS' and applicationTemplateId eq 'abc'",
    );
  });
  it('and() drops empty clauses', () => {
    expect(and(eq('jobId', 'j'), undefined, '', false, null)).toBe("jobId eq 'j'");
  });
  it('gtDateTime accepts ISO-8601 and refuses anything else', () => {
    expect(gtDateTime('activityDateTime', '2025-01-01T00:00:00Z')).toBe('activityDateTime gt 2025-01-01T00:00:00Z');
    expect(gtDateTime('activityDateTime', '2025-01-01T00:00:00.1234567+02:00')).toContain('gt 2025');
    expect(() => gtDateTime('activityDateTime', "2025-01-01' or 1 eq 1")).toThrow(PermanentError);
  });
  it('field names are checked', () => {
    expect(eq('statusInfo/status', 'failure')).toBe("statusInfo/status eq 'failure'");
    expect(() => eq('x eq 1 or y', 'z')).toThrow();
  });
});

describe('buildQuery', () => {
  it('percent-encodes values and keeps $ keys', () => {
    const q = buildQuery({ $filter: eq('displayName', "O'Brien's AWS & Co #1 + 50%"), $top: 10, $skip: undefined });
    expect(q).toBe("?$filter=displayName%20eq%20'O''Brien''s%20AWS%20%26%20Co%20%231%20%2B%2050%25'&$top=10");
    // Round trip: what the server decodes is exactly the OData expression.
    const decoded = new URL(`https://x/y${q}`).searchParams.get('$filter');
    expect(decoded).toBe("displayName eq 'O''Brien''s AWS & Co #1 + 50%'");
  });
  it('encodes non-ASCII as UTF-8', () => {
    const q = buildQuery({ $filter: eq('displayName', 'Müller 東京') });
    expect(q).toBe("?$filter=displayName%20eq%20'M%C3%BCller%20%E6%9D%B1%E4%BA%AC'");
    expect(new URL(`https://x/y${q}`).searchParams.get('$filter')).toBe("displayName eq 'Müller 東京'");
  });
  it('is empty when nothing is set', () => {
    expect(buildQuery({ a: undefined, b: null })).toBe('');
  });
  it('a lone surrogate is bad input (permanent), not a crash', () => {
    expect(() => buildQuery({ $filter: eq('displayName', 'bad \ud800') })).toThrow(PermanentError);
  });
});

describe('segment', () => {
  it('encodes ids so they cannot change the route', () => {
    expect(segment('abc-123')).toBe('abc-123');
    expect(segment('a/b?c')).toBe('a%2Fb%3Fc');
    expect(() => segment('')).toThrow(PermanentError);
  });
});
