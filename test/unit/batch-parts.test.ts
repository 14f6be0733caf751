/** The batch loader's building blocks: keys, ids, names, CSV, JSON syntax, secret keys. */
import { describe, expect, it } from 'vitest';
import { batchIdFromFileName, batchIdProblem } from '../../src/batch/batch-id.ts';
import { parseCsv } from '../../src/batch/csv.ts';
import { displayNameCompareKey, displayNameLookAlikeKey, displayNameProblem } from '../../src/batch/display-name.ts';
import { closestMatch, editDistance } from '../../src/batch/edit-distance.ts';
import { INSTANCE_KEY_PATTERN, instanceKeyOf } from '../../src/batch/instance-key.ts';
import { MAX_INLINE_VALUE_CHARS } from '../../src/batch/json-structure.ts';
import { locateJsonSyntaxError } from '../../src/batch/json-syntax.ts';
import { formatPath } from '../../src/batch/problem-path.ts';
import {
  isSecretValuedKey,
  isSynchronizationSecretKey,
  SECRET_VALUED_KEYS,
  suggestSecretKey,
  SYNCHRONIZATION_SECRET_KEYS,
} from '../../src/batch/secret-keys.ts';

describe('instanceKeyOf', () => {
  const names = [
    'AWS Contoso Prod',
    "O'Brien's AWS",
    'Zürich Süd',
    '東京 AWS',
    '東京',
    'a'.repeat(256),
    '---',
    'AWS.Prod:1',
  ];

  it.each(names)('is BullMQ-safe for %j', (name) => {
    const key = instanceKeyOf(name);
    expect(key).toMatch(INSTANCE_KEY_PATTERN);
    expect(key).not.toMatch(/[:.]/);
    expect(key).not.toMatch(/^\d+$/);
    expect(key.length).toBeLessThanOrEqual(43);
  });

  it('is deterministic, readable, NFC-stable and distinguishes names', () => {
    expect(instanceKeyOf('AWS Contoso Prod')).toBe(instanceKeyOf('AWS Contoso Prod'));
    expect(instanceKeyOf('AWS Contoso Prod')).toMatch(/^aws-contoso-prod-[0-9a-f]{10}$/);
    expect(instanceKeyOf('Zürich Süd')).toMatch(/^zurich-sud-/);
    expect(instanceKeyOf('東京')).toMatch(/^instance-/);
    expect(instanceKeyOf('Zu\u0308rich')).toBe(instanceKeyOf('Z\u00fcrich'));
    // Same slug, different names: the hash keeps them apart.
    expect(instanceKeyOf('AWS (Prod)')).not.toBe(instanceKeyOf('AWS Prod'));
    expect(instanceKeyOf('東京 AWS')).not.toBe(instanceKeyOf('大阪 AWS'));
  });
});

describe('batch ids', () => {
  it.each([
    ['aws-rollout-2026-11', null],
    ['A_b-9', null],
    ['aws:1', /":"/],
    ['aws.1', /"\."/],
    ['12345', /all digits/],
    ['', /empty/],
    ['x'.repeat(65), /at most 64/],
    ['aws rollout', /only contain/],
    ['Zürich', /only contain/],
  ])('%j', (id, problem) => {
    const message = batchIdProblem(id);
    if (problem === null) expect(message).toBeNull();
    else expect(message).toMatch(problem);
  });

  it('derives valid ids from file names', () => {
    expect(batchIdFromFileName('/x/aws-rollout.json')).toBe('aws-rollout');
    expect(batchIdFromFileName('/x/2026.csv')).toBe('batch-2026');
    expect(batchIdFromFileName('/x/東京.json')).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(batchIdProblem(batchIdFromFileName(`/x/${'a.'.repeat(80)}json`))).toBeNull();
  });
});

describe('display names', () => {
  it.each(["O'Brien's AWS", 'Zürich Süd', '東京 AWS', 'AWS "Quoted"', 'a', 'x'.repeat(256), 'emoji 🚀 ok'])(
    'accepts %j',
    (name) => {
      expect(displayNameProblem(name)).toBeNull();
    },
  );

  it.each([
    ['', /empty/],
    ['   ', /blank/],
    [' AWS', /leading or trailing/],
    ['AWS\t', /U\+0009/],
    ['A\u0000B', /U\+0000/],
    ['A\u007fB', /U\+007F/],
    ['A\u0085B', /U\+0085/],
    ['x'.repeat(257), /257 characters/],
    ['A\ud800B', /lone surrogate/],
  ])('rejects %j', (name, why) => {
    expect(displayNameProblem(name)).toMatch(why);
  });

  it('compares as Entra does (ordinal, ignoring case), and finds look-alikes across Unicode forms', () => {
    expect(displayNameCompareKey('AWS Prod')).toBe(displayNameCompareKey('aws PROD'));
    // Entra does not normalise: composed and decomposed accents are two names, but they look alike.
    expect(displayNameCompareKey('Zu\u0308rich')).not.toBe(displayNameCompareKey('ZÜRICH'));
    expect(displayNameLookAlikeKey('Zu\u0308rich')).toBe(displayNameLookAlikeKey('ZÜRICH'));
  });
});

describe('parseCsv', () => {
  it('reads RFC 4180 records', () => {
    const result = parseCsv('\ufeffa,b,c\r\n"x, y","say ""hi""",\r\n\r\n"multi\nline",2,3\n');
    expect(result).toEqual({
      ok: true,
      records: [
        { line: 1, fields: ['a', 'b', 'c'] },
        { line: 2, fields: ['x, y', 'say "hi"', ''] },
        { line: 4, fields: ['multi\nline', '2', '3'] },
      ],
    });
  });

  it('handles a last line without newline and an empty file', () => {
    expect(parseCsv('a,b\n1,2')).toEqual({
      ok: true,
      records: [
        { line: 1, fields: ['a', 'b'] },
        { line: 2, fields: ['1', '2'] },
      ],
    });
    expect(parseCsv('')).toEqual({ ok: true, records: [] });
  });

  it.each([
    ['a\n"open,1\n2,3\n', 2, /never closed/],
    ['a\nab"c\n', 2, /inside an unquoted field/],
    ['a\n"ab"c\n', 2, /after a closing double quote/],
  ])('reports broken quoting in %j on line %i', (text, line, why) => {
    const result = parseCsv(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.line).toBe(line);
    expect(result.error.message).toMatch(why);
  });
});

describe('parseCsv on csv-parse: lines, line ends, caps', () => {
  const fails = (text: string) => {
    const result = parseCsv(text);
    if (result.ok) throw new Error('expected a CSV error');
    return result.error;
  };

  it('reads the bytes of a file as it reads its text, byte order marks included', () => {
    const text = '\ufeffa,b\r\n"Zürich ""Süd""",東京\n';
    const fromText = parseCsv(text);
    expect(fromText.ok && fromText.records[1]!.fields).toEqual(['Zürich "Süd"', '東京']);
    expect(parseCsv(new TextEncoder().encode(text))).toEqual(fromText);
    expect(parseCsv(new TextEncoder().encode(`\ufeff${text}`))).toEqual(fromText);
    expect(parseCsv(new TextEncoder().encode('a\n"open'))).toEqual({
      ok: false,
      error: { line: 2, message: expect.any(String) },
    });
  });

  it('reads mixed line ends (csv-parse would keep only the first line end it sees)', () => {
    const result = parseCsv('a,b\r\n1,2\n3,4\r5,6\n');
    expect(result.ok && result.records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', '4'] },
      { line: 4, fields: ['5', '6'] },
    ]);
  });

  it('counts a CRLF inside a quoted cell as one line (csv-parse counts two)', () => {
    const result = parseCsv('a,b\r\n"x\r\ny",1\r\n\r\n"p",2\r\n');
    expect(result.ok && result.records.map((r) => r.line)).toEqual([1, 2, 5]);
    expect(fails('a,b\r\n"x\r\ny",1\r\n"p"q,2\r\n').line).toBe(4);
    // A lone CR is a line end inside a cell too, as it is between rows.
    expect(fails('a,b\r"x\ry",1\r"p"q,2\r').line).toBe(4);
  });

  it('puts each quoting error on the line to look at', () => {
    // Unclosed: where the quote opens, not where the file ends.
    expect(fails('a,b\n1,"open\nmore\nmore\n').line).toBe(2);
    // Text after a quote: the closing quote's line, past escaped quotes.
    expect(fails('a,b\n1,"x\n""y""\nz"!\n').line).toBe(4);
    // A quote inside an unquoted cell after a multi-line cell of the same row.
    expect(fails('a,b,c\n"x\ny",ab"c,1\n').line).toBe(3);
  });

  it('never repeats the cell in a message (csv-parse quotes it in its own)', () => {
    const error = fails('a,b\nx,s3cr3t-value"z\n');
    expect(error.message).toMatch(/inside an unquoted field/);
    expect(error.message).not.toContain('s3cr3t');
  });

  it('names the over-long cell and the line it starts on', () => {
    const long = 's'.repeat(MAX_INLINE_VALUE_CHARS + 1);
    expect(fails(`a,b,c\n"x\ny",1,"\n${long}"\n`)).toEqual({ line: 3, message: expect.stringContaining('field 3') });
    // A quoted cell of 20 MB starting on line 3: stopped by csv-parse's row bound, named all the same.
    const started = performance.now();
    expect(fails(`a,b,c\n\n1,2,"\n${'s'.repeat(20_000_000)}"\n`)).toEqual({
      line: 3,
      message: expect.stringContaining(`field 3 is longer than ${MAX_INLINE_VALUE_CHARS}`),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('names the first over-long cell of a row stopped by the row bound, not the cell it stopped in', () => {
    const cells = ['x'.repeat(MAX_INLINE_VALUE_CHARS + 10), ...Array.from({ length: 70 }, () => 'y'.repeat(65_000))];
    expect(fails(`a,b\nname,${cells.join(',')}\n`)).toEqual({
      line: 2,
      message: expect.stringContaining('field 2 is'),
    });
  });

  it('refuses a row over 4 MiB of cells each under the cap, which no batch row can be', () => {
    const row = Array.from({ length: 70 }, () => 'y'.repeat(65_000)).join(',');
    expect(fails(`a,b\n${row}\n`)).toEqual({
      line: 2,
      message: expect.stringContaining('the row is longer than 4 MiB'),
    });
  });
});

describe('locateJsonSyntaxError', () => {
  it.each([
    ['{"a": 1,}', 1, 9, /trailing comma/],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /comma is probably missing/],
    ['{"a": tru}', 1, 7, /expected a value/],
    ['{"a": "x\ny"}', 1, 9, /control character/],
    ['{"a": 1} x', 1, 10, /after the end/],
    ['{"a": "unterminated', 1, 7, /never closed/],
    ['', 1, 1, /empty/],
    ["{'a': 1}", 1, 2, /double quotes/],
    ['{"a": "C:\\path"}', 1, 10, /bad escape/],
  ])('%j → line %i column %i', (text, line, column, why) => {
    const error = locateJsonSyntaxError(text);
    expect([error.line, error.column]).toEqual([line, column]);
    expect(error.message).toMatch(why);
  });

  it('never quotes the document', () => {
    expect(locateJsonSyntaxError('{"SecretToken": {"value": "s3cr3t-value" x}}').message).not.toContain('s3cr3t');
  });
});

describe('synchronizationSecret keys', () => {
  it('lists the 45 members of the enum, once each', () => {
    expect(SYNCHRONIZATION_SECRET_KEYS).toHaveLength(45);
    expect(new Set(SYNCHRONIZATION_SECRET_KEYS).size).toBe(45);
    for (const k of [
      'BaseAddress',
      'SecretToken',
      'Oauth2ClientId',
      'SyncNotificationSettings',
      'ConnectionString',
      'TestReferences',
    ]) {
      expect(isSynchronizationSecretKey(k)).toBe(true);
    }
    expect(isSynchronizationSecretKey('clientsecret')).toBe(false);
  });

  it('marks credentials as secret-valued and settings as plain', () => {
    for (const k of [
      'Password',
      'SecretToken',
      'ClientSecret',
      'AppKey',
      'Oauth2ClientSecret',
      'Oauth2RefreshToken',
      'ConnectionString',
    ]) {
      expect(isSecretValuedKey(k)).toBe(true);
    }
    for (const k of ['BaseAddress', 'UserName', 'SyncAll', 'Oauth2ClientId', 'SyncNotificationSettings', 'Url']) {
      expect(isSecretValuedKey(k)).toBe(false);
    }
    for (const k of SECRET_VALUED_KEYS) expect(isSynchronizationSecretKey(k)).toBe(true);
  });

  it('suggests the closest key for typos, and nothing for nonsense', () => {
    expect(suggestSecretKey('ClientSecrt')).toBe('ClientSecret');
    expect(suggestSecretKey('secrettoken')).toBe('SecretToken');
    expect(suggestSecretKey('BaseAdress')).toBe('BaseAddress');
    expect(suggestSecretKey('Oauth2ClientID')).toBe('Oauth2ClientId');
    expect(suggestSecretKey('qqqqqqqqqqqq')).toBeNull();
  });

  it('edit distance basics', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ABC', 'abc')).toBe(0);
    expect(closestMatch('displayname', ['displayName', 'credentials'])).toBe('displayName');
  });
});

describe('formatPath', () => {
  it('renders JSON paths', () => {
    expect(formatPath(['instances', 3, 'credentials', 'SecretToken', 'env'])).toBe(
      'instances[3].credentials.SecretToken.env',
    );
    expect(formatPath(['defaults', 'odd key'])).toBe('defaults["odd key"]');
    expect(formatPath([])).toBe('(root)');
  });
});
