/**
 * Issue 11, items 4, 5, 6 and 8: hostile or careless batch files are refused with problems,
 * never a stack trace, a hang or unbounded memory. Deep nesting, 150,000 problems, duplicate
 * JSON keys, files that are not UTF-8, devices, FIFOs, /proc files and over-long inline values.
 * Generated files live under os.tmpdir(); the small ones are in the bad-batches corpus too.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_INLINE_VALUE_CHARS, MAX_JSON_DEPTH, scanJsonStructure } from '../../src/batch/json-structure.ts';
import { loadBatchFile, MAX_REPORTED_PROBLEMS } from '../../src/batch/load-batch.ts';
import { readBounded } from '../../src/batch/read-bounded.ts';
import { decodeUtf8 } from '../../src/batch/utf8.ts';

const corpus = join(import.meta.dirname, '../fixtures/bad-batches');
const tmp = mkdtempSync(join(tmpdir(), 'provflow-hardening-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const AWS = 'Amazon Web Services (AWS)';
let n = 0;
function file(content: string | Buffer, ext = '.json'): string {
  const path = join(tmp, `batch-${n++}${ext}`);
  writeFileSync(path, content);
  return path;
}
const batchWith = (instance: Record<string, unknown>) =>
  JSON.stringify({
    defaults: { applicationTemplate: AWS },
    instances: [{ displayName: 'AWS Contoso Prod', ...instance }],
  });
/** A problem at `path` whose message contains (string) or matches (RegExp) `message`. */
const at = (path: string, message: string | RegExp) => ({
  path,
  message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
});

async function problems(path: string, env: Record<string, string> = {}) {
  const result = await loadBatchFile(path, { env });
  expect(result.ok).toBe(false);
  if (result.ok) return { problems: [], total: 0 };
  return { problems: result.problems, total: result.total ?? result.problems.length };
}

describe('item 4: deep nesting and huge problem lists end in problems, not a stack overflow', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('a million levels in an unknown field (JSON.parse accepts it; salvage() overflowed)', async () => {
    const text = batchWith({}).replace('"displayName"', `"extra": ${deep(1_000_000)}, "displayName"`);
    const { problems: list } = await problems(file(text));
    expect(list).toHaveLength(1);
    expect(list[0]).toEqual(at(list[0]!.path, `nesting deeper than ${MAX_JSON_DEPTH} levels`));
    expect(list[0]!.path).toMatch(/^line 1, column \d+$/);
  });

  it('deep nesting in a credential value, and in a file that is also not valid JSON', async () => {
    const inValue = batchWith({ credentials: { SecretToken: { value: 'x' } } }).replace('"x"', deep(200_000));
    expect((await problems(file(inValue))).problems[0]!.message).toContain('nesting deeper than');
    const broken = `{"instances": ${'['.repeat(100_000)}`;
    expect((await problems(file(broken))).problems[0]!.message).toContain('nesting deeper than');
  });

  it('nesting a batch file really uses (5 levels) and up to the limit is fine', () => {
    expect(scanJsonStructure(deep(MAX_JSON_DEPTH)).tooDeepAt).toBeNull();
    expect(scanJsonStructure(deep(MAX_JSON_DEPTH + 1)).tooDeepAt).toBe(MAX_JSON_DEPTH);
  });

  it('10,000 instances with 15 unknown fields each (150,000 problems): 500, then "and 149500 more"', async () => {
    const instances = Array.from({ length: 10_000 }, (_, i) => {
      const o: Record<string, string> = { displayName: `AWS ${i}` };
      for (let k = 0; k < 15; k++) o[`extraField${k}`] = 'x';
      return o;
    });
    const defaults = { applicationTemplate: AWS, credentials: { SyncAll: { value: 'false' } } };
    const result = await problems(file(JSON.stringify({ defaults, instances })));
    expect(result.total).toBe(150_000);
    expect(result.problems).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(result.problems[0]).toEqual(at('instances[0].extraField0', "unknown field 'extraField0'"));
    expect(result.problems.at(-1)).toEqual(at('(more)', /^and 149500 more problems not listed/));
  }, 60_000);

  it('one object with 130,000 unknown fields (a spread push of that many problems overflowed)', async () => {
    const instance: Record<string, string> = { displayName: 'AWS Contoso Prod' };
    for (let k = 0; k < 130_000; k++) instance[`f${k}`] = '';
    const defaults = { applicationTemplate: AWS, credentials: { SyncAll: { value: 'false' } } };
    const text = JSON.stringify({ defaults, instances: [instance] });
    const result = await problems(file(text));
    expect(result.total).toBe(130_000);
    expect(result.problems.at(-1)!.path).toBe('(more)');
  }, 60_000);

  it('a CSV with 130,000 malformed rows is capped the same way', async () => {
    const rows = Array.from({ length: 130_000 }, (_, i) => `AWS ${i},${AWS},extra`).join('\n');
    const result = await problems(file(`displayName,applicationTemplate\n${rows}\n`, '.csv'));
    expect(result.total).toBe(130_000);
    expect(result.problems).toHaveLength(MAX_REPORTED_PROBLEMS + 1);
    expect(result.problems[0]!.path).toBe('line 2');
  }, 60_000);
});

describe('item 5: duplicate JSON keys are reported with their path, not resolved silently', () => {
  it('a second instances array (which silently dropped the first list)', async () => {
    const { problems: list } = await problems(join(corpus, 'duplicate-key-instances.json'));
    expect(list).toEqual([at('instances', 'written twice in the same object (lines 3 and 7)')]);
  });

  it('a duplicated credential hides an unset {env}: both are reported', async () => {
    const { problems: list } = await problems(join(corpus, 'duplicate-key-credential.json'));
    expect(list.map((p) => p.path)).toEqual(['instances[0].credentials.SecretToken']);
    expect(list[0]!.message).toMatch(/JSON keeps only the last one/);
    expect(JSON.stringify(list)).not.toContain('duplicate-key-literal-secret');
  });

  it('a duplicated batchId hides an invalid one', async () => {
    const { problems: list } = await problems(join(corpus, 'duplicate-key-batch-id.json'));
    expect(list).toEqual([at('batchId', 'lines 2 and 4')]);
  });

  it('escaped spellings of the same key, nested references, and keys in separate objects', async () => {
    const text = `{"defaults": {"applicationTemplate": "${AWS}"}, "instances": [
      {"displayName": "A", "credentials": {"SecretToken": {"env": "A_TOKEN", "env": "B_TOKEN"}}},
      {"displayName": "B", "displ\\u0061yName": "C"}
    ], "\\u0069nstances": []}`;
    const { problems: list } = await problems(file(text), { A_TOKEN: 'a-token-value', B_TOKEN: 'b-token-value' });
    // `instances` twice: written twice, and the last one (the one JSON keeps) is empty.
    expect(list.map((p) => p.path)).toEqual([
      'instances',
      'instances',
      'instances[0].credentials.SecretToken.env',
      'instances[1].displayName',
    ]);
    expect(list[0]!.message).toContain('written twice');
    // The same key in sibling objects is not a duplicate.
    expect(scanJsonStructure('[{"a": 1}, {"a": 2, "b": {"a": 3}}]').duplicates).toEqual([]);
  });
});

describe('item 6: files are decoded strictly as UTF-8', () => {
  it('a Windows-1252 JSON file is refused (it enqueued "Z\uFFFDrich S\uFFFDd"), naming the line', async () => {
    const { problems: list } = await problems(join(corpus, 'windows-1252-name.json'));
    expect(list).toEqual([at('line 5', /not valid UTF-8.*save it as UTF-8/)]);
  });

  it('a Windows-1252 CSV file is refused the same way', async () => {
    const { problems: list } = await problems(join(corpus, 'csv-windows-1252.csv'));
    expect(list).toEqual([at('line 3', 'save it as UTF-8')]);
  });

  it('UTF-16 is named, with or without a byte order mark', async () => {
    const bom = await problems(join(corpus, 'utf16le-bom.json'));
    expect(bom.problems).toEqual([at('line 1', /encoded as UTF-16 \(little-endian.*save it as UTF-8/)]);
    const noBom = await problems(join(corpus, 'utf16le-no-bom.csv'));
    expect(noBom.problems).toEqual([at('line 1', 'encoded as UTF-16 (little-endian)')]);
    const bigEndian = decodeUtf8(Buffer.from('{"instances": []}', 'utf16le').swap16());
    expect(bigEndian.ok ? '' : bigEndian.message).toContain('UTF-16 (big-endian)');
  });

  it('invalid bytes in a {file} credential (they changed the secret) are refused, the value not echoed', async () => {
    const { problems: list } = await problems(join(corpus, 'credential-file-windows-1252.json'));
    expect(list).toEqual([
      at('instances[0].credentials.ClientSecret.file', /windows-1252-secret\.txt: the file is not valid UTF-8/),
    ]);
    expect(list[0]!.message).not.toMatch(/ssw|windows-1252-secret(?!\.txt)/);
  });

  it('a NUL byte in a CSV file is refused naming its line, the cell not echoed, nothing enqueued', async () => {
    const csv = file(
      `displayName,applicationTemplate,SecretToken\nAWS One,${AWS},tok-one\nAWS Two,${AWS},se\0cret-two\n`,
      '.csv',
    );
    const { problems: list } = await problems(csv);
    expect(list).toEqual([at('line 3', /NUL byte.*save it as UTF-8/)]);
    expect(list[0]!.message).not.toMatch(/cret-two|se\0/);
  });

  it('a UTF-8 BOM is fine in JSON, CSV and credential files; overlongs and surrogates are not UTF-8', async () => {
    const secret = file('\ufeffbom-secret-value\n', '.txt');
    const json = await loadBatchFile(file(`\ufeff${batchWith({ credentials: { SecretToken: { file: secret } } })}`));
    const credentials = json.ok ? json.batch.instances[0]!.credentials : null;
    expect(credentials).toEqual([{ key: 'SecretToken', value: 'bom-secret-value' }]);
    const csv = await loadBatchFile(
      file(`\ufeffdisplayName,applicationTemplate,SyncAll\nZürich Süd,${AWS},false\n`, '.csv'),
    );
    expect(csv.ok && csv.batch.instances[0]!.displayName).toBe('Zürich Süd');
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x41, 0xe2, 0x82],
    ]) {
      expect(decodeUtf8(Uint8Array.from(bad)).ok, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('item 8: only regular files, bounded reads, capped inline values', () => {
  const fifo = () => {
    const path = join(tmp, `fifo-${n++}`);
    execFileSync('mkfifo', [path]);
    return path;
  };

  it('{file: /dev/zero} is refused as a device instead of reading hundreds of MB', async () => {
    const { problems: list } = await problems(file(batchWith({ credentials: { SecretToken: { file: '/dev/zero' } } })));
    const where = 'instances[0].credentials.SecretToken.file';
    expect(list).toEqual([at(where, '/dev/zero is a character device, not a regular file')]);
  });

  it('a FIFO as {file} or as the batch file is refused at once instead of hanging', async () => {
    const { problems: list } = await problems(file(batchWith({ credentials: { SecretToken: { file: fifo() } } })));
    expect(list).toEqual([at('instances[0].credentials.SecretToken.file', 'is a named pipe (FIFO)')]);
    const asBatch = await problems(fifo());
    expect(asBatch.problems).toEqual([at('(file)', 'is a named pipe (FIFO), not a regular file')]);
  }, 10_000);

  it('procfs files (size 0, contents unbounded or sensitive) are refused', async () => {
    const proc = batchWith({ credentials: { SecretToken: { file: '/proc/self/status' } } });
    const { problems: list } = await problems(file(proc));
    expect(list).toEqual([at('instances[0].credentials.SecretToken.file', 'a /proc or /sys pseudo-file')]);
    expect((await problems('/proc/self/status')).problems[0]!.message).toContain('pseudo-file');
    expect((await problems('/dev/null')).problems[0]!.message).toContain('is a character device');
  });

  it('reads stop at limit + 1 bytes whatever stat says', async () => {
    const path = file('x'.repeat(11), '.txt');
    expect(await readBounded(path, 10)).toEqual({ ok: false, why: 'too-large' });
    const exact = await readBounded(path, 11);
    expect(exact.ok && exact.bytes.toString()).toBe('x'.repeat(11));
    expect(await readBounded(join(tmp, 'nope'), 10)).toEqual({ ok: false, why: 'missing' });
    expect(await readBounded(tmp, 10)).toEqual({ ok: false, why: 'directory' });
  });

  it('an inline credential value or any string over the cap is refused at its path', async () => {
    const long = 'v'.repeat(MAX_INLINE_VALUE_CHARS + 1);
    const text = JSON.stringify({
      description: long,
      defaults: { applicationTemplate: AWS },
      instances: [{ displayName: 'AWS Contoso Prod', credentials: { SecretToken: { value: long } } }],
    });
    const { problems: list } = await problems(file(text));
    expect(list.map((p) => p.path)).toEqual(['description', 'instances[0].credentials.SecretToken.value']);
    expect(list[1]!.message).toContain(`limited to ${MAX_INLINE_VALUE_CHARS}`);
    expect(JSON.stringify(list)).not.toContain('vvvvvvvv');
    // Exactly at the cap is fine (escapes count as the character they stand for).
    const value = `${'\n'.repeat(10)}${'v'.repeat(MAX_INLINE_VALUE_CHARS - 10)}`;
    const atCap = batchWith({ credentials: { SecretToken: { value } } });
    expect((await loadBatchFile(file(atCap))).ok).toBe(true);
  });

  it('a CSV cell over the cap stops the parse (a 120 MB cell took 4.2 GB) without echoing it', async () => {
    const cell = 's'.repeat(MAX_INLINE_VALUE_CHARS + 1);
    const header = 'displayName,applicationTemplate,SecretToken';
    const plain = await problems(file(`${header}\nAWS Contoso Prod,${AWS},${cell}\n`, '.csv'));
    expect(plain.problems).toEqual([at('line 2', `field 3 is longer than ${MAX_INLINE_VALUE_CHARS}`)]);
    const quoted = await problems(file(`${header}\n\nAWS,${AWS},"a\n${cell}"\n`, '.csv'));
    expect(quoted.problems).toEqual([at('line 3', 'field 3 is longer')]);
    expect(JSON.stringify(quoted.problems)).not.toContain('ssssssss');
  });

  it('a 20 MB CSV cell is refused quickly and within modest memory', async () => {
    const path = file(`displayName,applicationTemplate,SecretToken\nAWS,${AWS},${'s'.repeat(20_000_000)}\n`, '.csv');
    const before = process.memoryUsage().rss;
    const started = Date.now();
    const { problems: list } = await problems(path);
    expect(list[0]!.message).toContain('is longer than');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(400 * 1024 * 1024);
  });
});
