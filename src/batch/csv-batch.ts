/**
 * CSV batch files: a header row naming the columns, then one row per instance.
 * `displayName` and `applicationTemplate` are required columns; `synchronizationTemplateId`
 * `expect` and `tenant` are optional; every other column is a synchronizationSecret key whose cells are
 * `env:NAME`, `file:path`, `value:text` or plain text (an empty cell = not set). The rows become
 * the same document a JSON file would give, so both formats share one validator; problems
 * are reported by line and column instead of JSON paths.
 */
import type { CredentialRefInput } from './batch-schema.ts';
import { parseCsv } from './csv.ts';
import { closestMatch, didYouMean } from './edit-distance.ts';
import { hidden, looksLikeCredentialReference, mayEchoColumnName } from './echo-safe.ts';
import { formatPath, type PathSegment } from './problem-path.ts';
import { isSynchronizationSecretKey, SYNCHRONIZATION_SECRET_KEYS } from './secret-keys.ts';

const FIELD_COLUMNS = ['displayName', 'applicationTemplate', 'synchronizationTemplateId', 'expect', 'tenant'] as const;
const REQUIRED_COLUMNS = ['displayName', 'applicationTemplate'] as const;

/** A CSV file as a batch document, the line of each data row, and header/row problems. */
export interface CsvDocument {
  /** `{instances: [...]}`, or null when the file cannot be interpreted at all. */
  document: { instances: Record<string, unknown>[] } | null;
  /** Line number of `instances[i]`. */
  rowLines: number[];
  /** Problems with paths already rendered (`line 3`, `line 1, column ClientSecrt`). */
  problems: { path: string; message: string }[];
}

/** Reads CSV text, or its UTF-8 bytes, into a batch document. */
export function csvToDocument(input: string | Uint8Array): CsvDocument {
  const out: CsvDocument = { document: null, rowLines: [], problems: [] };
  const parsed = parseCsv(input);
  if (!parsed.ok) {
    out.problems.push({ path: `line ${parsed.error.line}`, message: parsed.error.message });
    return out;
  }
  const [header, ...rows] = parsed.records;
  if (!header) {
    out.problems.push({
      path: 'line 1',
      message:
        'the file is empty; the first line must name the columns, e.g. displayName,applicationTemplate,SecretToken',
    });
    return out;
  }

  const columns = header.fields.map((f) => f.trim());
  const known: readonly string[] = [...FIELD_COLUMNS, ...SYNCHRONIZATION_SECRET_KEYS.filter((k) => k !== 'None')];
  const isKnown = (name: string) =>
    (FIELD_COLUMNS as readonly string[]).includes(name) || isSynchronizationSecretKey(name);
  // A file without its header row makes the first data row the header: its cells are names,
  // templates and credentials, so none of them is quoted back (a secret would be printed).
  const nameLike = (name: string) => isKnown(name) || (name.length <= 64 && closestMatch(name, known) !== null);
  const references = columns.filter(looksLikeCredentialReference).length;
  if (!columns.some(nameLike) || references > 0) {
    const why =
      references > 0
        ? `${references} of its cells ${references === 1 ? 'looks' : 'look'} like a credential reference`
        : 'none of its cells is a column name';
    out.problems.push({
      path: `line ${header.line}`,
      message:
        `the first line does not name the columns (${why}; cells not shown); header row missing? ` +
        'Add a first line naming the columns, e.g. displayName,applicationTemplate,SecretToken',
    });
    return out;
  }
  // Unknown column names are quoted only when they look like names (or are a typo of one).
  const label = (name: string, i: number) => {
    const suggestion = name.length <= 100 ? closestMatch(name, known) : null;
    return mayEchoColumnName(name) || (suggestion !== null && !looksLikeCredentialReference(name) && name.length <= 64)
      ? name
      : `${i + 1}`;
  };
  // Columns that cannot be interpreted are reported and then ignored, so the rows are still
  // checked and every problem shows in one run; only a missing required column stops here.
  const usable = columns.map(() => true);
  const seen = new Set<string>();
  columns.forEach((name, i) => {
    const shown = name === '' ? `${i + 1}` : label(name, i);
    const where = `line ${header.line}, column ${shown}`;
    const what = shown === name ? `'${name}'` : `${i + 1} ${hidden(name)}`;
    if (name === '') {
      out.problems.push({
        path: where,
        message: `header column ${i + 1} has no name; name it or delete the empty column`,
      });
      usable[i] = false;
    } else if (seen.has(name)) {
      out.problems.push({ path: where, message: `column ${what} appears twice in the header; keep one` });
      usable[i] = false;
    } else if (!isKnown(name)) {
      out.problems.push({
        path: where,
        message:
          `unknown column ${what}: columns are ${FIELD_COLUMNS.join(', ')} or synchronizationSecret keys.` +
          `${name.length <= 100 ? didYouMean(name, known) : ''} Fix the spelling (case-sensitive) or remove the column`,
      });
      usable[i] = false;
    }
    seen.add(name);
  });
  let missingRequired = false;
  for (const required of REQUIRED_COLUMNS) {
    if (!seen.has(required)) {
      out.problems.push({
        path: `line ${header.line}`,
        message:
          `the header has no ${required} column; ` +
          'the first line must name the columns, e.g. displayName,applicationTemplate,SecretToken',
      });
      missingRequired = true;
    }
  }
  if (missingRequired) return out;

  const instances: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (row.fields.length !== columns.length) {
      out.problems.push({
        path: `line ${row.line}`,
        message:
          `has ${row.fields.length} fields but the header has ${columns.length}; ` +
          'quote cells that contain commas ("a, b") and check for missing or extra commas',
      });
      continue;
    }
    const instance: Record<string, unknown> = {};
    const credentials: Record<string, CredentialRefInput> = {};
    row.fields.forEach((cell, i) => {
      const column = columns[i]!;
      if (!usable[i]) return;
      if (column === 'displayName') instance.displayName = cell;
      else if (cell === '')
        return; // empty cell: not set
      else if ((FIELD_COLUMNS as readonly string[]).includes(column)) instance[column] = cell;
      else credentials[column] = cellToRef(cell);
    });
    if (Object.keys(credentials).length > 0) instance.credentials = credentials;
    instances.push(instance);
    out.rowLines.push(row.line);
  }
  // Rows with the wrong number of fields were left out; the file is rejected either way, but
  // the remaining rows are still checked so every problem shows in one run.
  // Every row was malformed: there is nothing more to check (and "no rows" would mislead).
  if (instances.length === 0 && rows.length > 0) return out;
  out.document = { instances };
  return out;
}

/** `env:NAME`, `file:path`, `value:text` (to write a literal starting with a prefix), or text. */
function cellToRef(cell: string): CredentialRefInput {
  if (cell.startsWith('env:')) return { env: cell.slice(4).trim() };
  if (cell.startsWith('file:')) return { file: cell.slice(5).trim() };
  if (cell.startsWith('value:')) return { value: cell.slice(6) };
  return { value: cell };
}

/** Renders document paths as CSV positions: `instances[3].credentials.X.env` → `line 5, column X`. */
export function csvPathRenderer(rowLines: readonly number[]): (path: readonly PathSegment[]) => string {
  return (path) => {
    if (path[0] === 'instances' && typeof path[1] === 'number') {
      const line = rowLines[path[1]];
      const rest = path.slice(2);
      const column = rest[0] === 'credentials' ? rest[1] : rest[0];
      if (line !== undefined) return column === undefined ? `line ${line}` : `line ${line}, column ${String(column)}`;
    }
    if (path.length === 1 && path[0] === 'instances') return 'line 2';
    return formatPath(path);
  };
}
