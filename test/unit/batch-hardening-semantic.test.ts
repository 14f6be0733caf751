/**
 * Issue 11, the semantic items: `{env}` names that are Object.prototype members (7), instances
 * without credentials (9), invisible and look-alike display names (11), credential values
 * echoed in errors (13) and terminal escapes in rendered problems (14).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { displayNameCompareKey, displayNameLookAlikeKey, displayNameProblem } from '../../src/batch/display-name.ts';
import { mayEchoColumnName, mayEchoPath, mayEchoVariableName } from '../../src/batch/echo-safe.ts';
import { loadBatchFile, type LoadResult } from '../../src/batch/load-batch.ts';
import { formatPath } from '../../src/batch/problem-path.ts';
import { problemsReport } from '../../src/commands/enqueue.ts';
import { renderTable } from '../../src/ui/table.ts';

const T = 'Amazon Web Services (AWS)';
const TOKEN = { SecretToken: { value: 'not-a-real-token' } };
const BAD = join(import.meta.dirname, '../fixtures/bad-batches');

function tempFile(name: string, text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'provflow-semantic-'));
  writeFileSync(join(d, name), text);
  return join(d, name);
}

const json = (doc: unknown) => tempFile('batch.json', JSON.stringify(doc));
const problems = (r: LoadResult) => (r.ok ? [] : r.problems);

describe('item 7: {env} names are own properties of the environment only', () => {
  it.each(['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__'])(
    '{"env": "%s"} is "not set" when the environment has no such variable',
    async (name) => {
      const file = json({
        defaults: { applicationTemplate: T },
        instances: [{ displayName: 'A', credentials: { SecretToken: { env: name } } }],
      });
      // A plain object inherits every Object.prototype member: the case that resolved to a function.
      for (const env of [{}, { ...process.env }]) {
        const r = await loadBatchFile(file, { env });
        expect(r.ok).toBe(false);
        expect(problems(r)).toEqual([
          { path: 'instances[0].credentials.SecretToken.env', message: expect.stringMatching(/not set/) },
        ]);
      }
    },
  );

  it('reads a variable that really is named like a prototype member', async () => {
    const file = json({
      defaults: { applicationTemplate: T },
      instances: [{ displayName: 'A', credentials: { SecretToken: { env: 'toString' } } }],
    });
    const r = await loadBatchFile(file, { env: { toString: 'token-from-env' } as Record<string, string> });
    expect(r.ok && r.batch.instances[0]!.credentials).toEqual([{ key: 'SecretToken', value: 'token-from-env' }]);
  });

  it('the corpus file is refused for all three names, never with a resolved function', async () => {
    const r = await loadBatchFile(join(BAD, 'env-name-object-prototype.json'), { env: {} });
    const paths = [0, 1, 2].map((i) => `instances[${i}].credentials.SecretToken.env`);
    expect(problems(r).map((p) => p.path)).toEqual(paths);
  });
});

describe('item 9: an instance without credentials is refused at validation', () => {
  it('names the instance path and the fix (JSON)', async () => {
    const r = await loadBatchFile(join(BAD, 'no-credentials.json'), { env: {} });
    expect(problems(r)).toEqual([
      {
        path: 'instances[0].credentials',
        message: expect.stringMatching(/no credentials.*add e\.g\. "credentials": \{"SecretToken"/),
      },
    ]);
  });

  it('counts credentials after defaults are merged and `null` drops one', async () => {
    const r = await loadBatchFile(join(BAD, 'no-credentials-after-null.json'), { env: {} });
    expect(problems(r).map((p) => p.path)).toEqual(['instances[1].credentials']);
  });

  it('names the CSV line whose credential cells are all empty', async () => {
    const r = await loadBatchFile(join(BAD, 'csv-no-credentials.csv'), { env: {} });
    expect(problems(r)).toEqual([{ path: 'line 3', message: expect.stringMatching(/no credentials.*fill in/) }]);
  });

  it('stays quiet when broken defaults.credentials were already reported', async () => {
    const file = json({
      defaults: { applicationTemplate: T, credentials: 'SecretToken' },
      instances: [{ displayName: 'A' }, { displayName: 'B' }],
    });
    expect(problems(await loadBatchFile(file, { env: {} })).map((p) => p.path)).toEqual(['defaults.credentials']);
  });

  it('accepts an instance whose only credential comes from the defaults', async () => {
    const file = json({ defaults: { applicationTemplate: T, credentials: TOKEN }, instances: [{ displayName: 'A' }] });
    expect((await loadBatchFile(file, { env: {} })).ok).toBe(true);
  });
});

describe('item 11: invisible characters and look-alike display names', () => {
  it.each([
    ['AWS\u200b Prod', 'U+200B ZERO WIDTH SPACE'],
    ['AWS\u2060Prod', 'U+2060 WORD JOINER'],
    ['AWS\u2028Prod', 'U+2028 LINE SEPARATOR'],
    ['AWS\u2029Prod', 'U+2029 PARAGRAPH SEPARATOR'],
    ['AWS \u202eProd', 'U+202E RIGHT-TO-LEFT OVERRIDE'],
    ['AWS \u2066Prod\u2069', 'U+2066 LEFT-TO-RIGHT ISOLATE'],
    ['AWS\u200dProd', 'U+200D ZERO WIDTH JOINER'],
    ['AWS\u200eProd', 'U+200E LEFT-TO-RIGHT MARK'],
    ['AWS\u00adProd', 'U+00AD SOFT HYPHEN'],
    ['AWS\ufeffProd', 'U+FEFF ZERO WIDTH NO-BREAK SPACE'],
    ['AWS\u3164Prod', 'U+3164 HANGUL FILLER'],
    ['AWS\u2800Prod', 'U+2800 BRAILLE PATTERN BLANK'],
    ['AWS\u{e0041}Prod', 'U+E0041'],
  ])('refuses %j, naming %s', (name, named) => {
    expect(displayNameProblem(name)).toContain(named);
  });

  it('refuses combining-only names and names that start with a combining mark', () => {
    expect(displayNameProblem('\u0301\u0308')).toMatch(/only combining marks/);
    expect(displayNameProblem('\u0301 \u0308')).toMatch(/only combining marks/);
    expect(displayNameProblem('\u0301AWS')).toMatch(/starts with U\+0301/);
  });

  it('keeps accepting real names: accents, CJK, emoji with a variation selector, ideographic space', () => {
    const names = ['Zürich Süd', 'Zu\u0308rich', '東京\u3000AWS', 'AWS ❤️ Prod', "O'Brien's AWS", 'AWS \u212a-Prod'];
    for (const name of names) {
      expect(displayNameProblem(name), name).toBeNull();
    }
  });

  it('compares duplicates as Entra does: ordinal ignoring case, so the Kelvin sign is not K', () => {
    expect(displayNameCompareKey('AWS K')).not.toBe(displayNameCompareKey('AWS \u212a'));
    expect(displayNameCompareKey('AWS k')).not.toBe(displayNameCompareKey('AWS \u212a'));
    expect(displayNameCompareKey('aws prod')).toBe(displayNameCompareKey('AWS PROD'));
    // Simple case mapping: ß has no one-letter uppercase, so it is not "SS".
    expect(displayNameCompareKey('Straße')).not.toBe(displayNameCompareKey('STRASSE'));
    expect(displayNameCompareKey('İstanbul')).not.toBe(displayNameCompareKey('istanbul'));
  });

  it('reports the Kelvin sign pair as a look-alike, not as an Entra duplicate', async () => {
    const r = await loadBatchFile(join(BAD, 'names-kelvin-lookalike.json'), { env: {} });
    expect(problems(r)).toEqual([
      {
        path: 'instances[1].displayName',
        message: expect.stringContaining(
          'looks the same as the display name at instances[0].displayName (one has U+212A KELVIN SIGN',
        ),
      },
    ]);
    expect(problems(r)[0]!.message).not.toMatch(/duplicates/);
  });

  it('refuses full-width and NFKC look-alikes, naming the character', async () => {
    expect(displayNameLookAlikeKey('ＡＷＳ Prod')).toBe(displayNameLookAlikeKey('AWS Prod'));
    expect(displayNameLookAlikeKey('AWS\u00a0Prod')).toBe(displayNameLookAlikeKey('aws prod'));
    expect(displayNameLookAlikeKey('AWS ❤️')).toBe(displayNameLookAlikeKey('AWS ❤'));
    const r = await loadBatchFile(join(BAD, 'names-fullwidth-lookalike.json'), { env: {} });
    expect(problems(r)).toEqual([
      {
        path: 'instances[1].displayName',
        message: expect.stringContaining('U+FF21 FULLWIDTH LATIN CAPITAL LETTER A'),
      },
    ]);
  });

  it('still reports a case-only duplicate as an Entra duplicate', async () => {
    const file = json({
      defaults: { applicationTemplate: T, credentials: TOKEN },
      instances: [{ displayName: 'AWS Prod' }, { displayName: 'aws prod' }],
    });
    expect(problems(await loadBatchFile(file, { env: {} }))).toEqual([
      {
        path: 'instances[1].displayName',
        message: expect.stringMatching(/^duplicates the display name at instances\[0\]\.displayName \(Entra compares/),
      },
    ]);
  });

  const nameFiles = [
    'name-zero-width-space.json',
    'name-line-separator.json',
    'name-bidi-override.json',
    'name-word-joiner.json',
    'name-combining-only.json',
  ];
  it.each(nameFiles)('%s is refused at instances[1].displayName only', async (file) => {
    const paths = problems(await loadBatchFile(join(BAD, file), { env: {} })).map((p) => p.path);
    expect(paths).toEqual(['instances[1].displayName']);
  });
});

describe('item 13: credential values are never echoed', () => {
  it('a CSV without its header row: "header row missing?", no cell quoted', async () => {
    const r = await loadBatchFile(join(BAD, 'csv-missing-header.csv'), { env: {} });
    expect(problems(r)).toEqual([{ path: 'line 1', message: expect.stringContaining('header row missing?') }]);
    const shown = JSON.stringify(problems(r));
    for (const cell of ['canary-csv-header-secret-7f3a9c', 'AWS Contoso Prod', 'Amazon Web Services']) {
      expect(shown).not.toContain(cell);
    }
  });

  it('a header made only of data (no reference prefix) is also "header row missing?"', async () => {
    const file = tempFile('x.csv', `AWS Contoso Prod,${T},Sup3rS3cretPassw0rd\nAWS B,${T},x\n`);
    const r = await loadBatchFile(file, { env: {} });
    expect(problems(r)).toEqual([{ path: 'line 1', message: expect.stringContaining('header row missing?') }]);
    expect(JSON.stringify(problems(r))).not.toContain('Sup3rS3cretPassw0rd');
  });

  it('an unknown column is quoted when it is a typo, described when it may be a value', async () => {
    const header = 'displayName,applicationTemplate,ClientSecrt,xK9vQ2mZ7pL4wR8t,SecretToken';
    const file = tempFile('y.csv', `${header}\nA,T,a,b,value:not-a-real-token\n`);
    const r = await loadBatchFile(file, { env: {} });
    expect(problems(r)).toEqual([
      { path: 'line 1, column ClientSecrt', message: expect.stringContaining("unknown column 'ClientSecrt'") },
      { path: 'line 1, column 4', message: expect.stringContaining('unknown column 4 (16 characters, not shown)') },
    ]);
    expect(JSON.stringify(problems(r))).not.toContain('xK9vQ2mZ7pL4wR8t');
  });

  it('a value pasted where a variable name goes is described, not printed', async () => {
    const r = await loadBatchFile(join(BAD, 'env-name-is-a-secret.json'), { env: {} });
    expect(problems(r)).toEqual([
      {
        path: 'instances[0].credentials.ClientSecret.env',
        message: expect.stringContaining('(20 characters, not shown)'),
      },
      {
        path: 'instances[1].credentials.SecretToken.env',
        message: expect.stringContaining('is not a valid environment variable name (35 characters, not shown)'),
      },
    ]);
    const shown = JSON.stringify(problems(r));
    for (const secret of ['AKIACANARYPASTED7Q2M', 'wJalrCanary', 'pastedSecretKey']) {
      expect(shown).not.toContain(secret);
    }
  });

  it('the same from a CSV env: cell', async () => {
    const file = tempFile('z.csv', 'displayName,applicationTemplate,SecretToken\nA,T,env:AKIACANARYPASTED7Q2M\n');
    const r = await loadBatchFile(file, { env: {} });
    expect(problems(r)).toEqual([
      { path: 'line 2, column SecretToken', message: expect.stringContaining('not shown') },
    ]);
    expect(JSON.stringify(problems(r))).not.toContain('AKIACANARYPASTED7Q2M');
  });

  it('a value pasted where a file path goes is described, not printed', async () => {
    const r = await loadBatchFile(join(BAD, 'file-path-is-a-secret.json'), { env: {} });
    expect(problems(r)).toEqual([
      {
        path: 'instances[0].credentials.SecretToken.file',
        message: expect.stringContaining('(20 characters, not shown;'),
      },
    ]);
    expect(JSON.stringify(problems(r))).not.toContain('cAnArYpAsTeD9x7Q2mZk');
  });

  it('real names and paths are still named', async () => {
    expect(mayEchoVariableName('AWS_SECRET_TOKEN')).toBe(true);
    expect(mayEchoVariableName('PROVFLOW_TEST_DEFINITELY_UNSET_1')).toBe(true);
    expect(mayEchoVariableName('HOME')).toBe(true);
    expect(mayEchoVariableName('http_proxy')).toBe(true);
    expect(mayEchoVariableName('hunter2')).toBe(false);
    expect(mayEchoVariableName('AKIAIOSFODNN7EXAMPLE')).toBe(false);
    expect(mayEchoVariableName('a'.repeat(40))).toBe(false);
    expect(mayEchoPath('./secrets/aws-token.txt')).toBe(true);
    expect(mayEchoPath('/run/secrets/aws')).toBe(true);
    expect(mayEchoPath('hunter2')).toBe(false);
    expect(mayEchoPath('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig')).toBe(false);
    expect(mayEchoColumnName('Email')).toBe(true);
    expect(mayEchoColumnName('value:abc')).toBe(false);
    expect(mayEchoColumnName('Passw0rd')).toBe(false);
  });
});

describe('item 14: control characters never reach the terminal raw', () => {
  const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  it('renderTable escapes C0, C1, line separators and bidi controls in every cell', () => {
    const out = renderTable(
      [{ a: '\u001b[2J\u001b]0;title\u0007', b: '\u009b31m\u2028\u202e' }],
      [
        { header: 'a', get: (r) => r.a },
        { header: 'b', get: (r) => r.b },
      ],
    );
    expect(out).not.toMatch(RAW_CONTROL);
    expect(out).toContain('\\x1B[2J\\x1B]0;title\\x07');
    expect(out).toContain('\\x9B31m\\u2028\\u202E');
  });

  const escapeFiles = [
    'unknown-field-terminal-escape.json',
    'csv-column-terminal-escape.csv',
    'file-path-terminal-escape.json',
  ];
  it.each(escapeFiles)('the problems report for %s has no raw control character', async (file) => {
    const r = await loadBatchFile(join(BAD, file), { env: {} });
    expect(r.ok).toBe(false);
    // The raw problems do hold the controls (this is what the report must escape)…
    expect(JSON.stringify(problems(r)).match(/\\u001b|\u009b/)).not.toBeNull();
    // …the report shows them as visible escapes.
    const report = problemsReport(join(BAD, file), problems(r));
    expect(report).not.toMatch(RAW_CONTROL);
    expect(report).toContain('\\x1B');
  });

  it('escapes the batch file name in the report header', () => {
    const report = problemsReport('evil\u001b[2J.json', [{ path: '(file)', message: 'x'.repeat(30) }]);
    expect(report).not.toMatch(RAW_CONTROL);
  });
});

describe('a value pasted where a JSON key goes is described, never quoted', () => {
  it('an unknown credential key and an unknown field that look like tokens: path and message hide them', async () => {
    const file = join(import.meta.dirname, '../fixtures/bad-batches/secret-pasted-as-key.json');
    const result = await loadBatchFile(file, { env: {} });
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result.ok ? [] : result.problems);
    expect(text).not.toMatch(/canary/);
    expect(text).toContain('instances[0].credentials[(33 characters, not shown)]');
    expect(text).toContain('a key (33 characters, not shown) is not a synchronizationSecret key');
    expect(text).toContain('unknown field (30 characters, not shown)');
  });

  it('Graph key names, digits and all, are still shown as they are', () => {
    expect(formatPath(['instances', 0, 'credentials', 'Oauth2AccessTokenCreationTime'])).toBe(
      'instances[0].credentials.Oauth2AccessTokenCreationTime',
    );
    expect(formatPath(['credentials', 'SyncNotificationSettings'])).toBe('credentials.SyncNotificationSettings');
  });
});
