/**
 * A small RFC 4180 CSV reader: comma-separated, fields optionally in double quotes, `""` for a
 * quote inside a quoted field, quoted fields may span lines, CRLF or LF line ends, an optional
 * UTF-8 BOM (Excel writes one). It is strict about quotes, because a stray quote usually
 * means a broken export, and guessing would silently shift values into the wrong columns.
 */
import { MAX_INLINE_VALUE_CHARS } from './json-structure.ts';

/** One record and the (1-based) line it starts on. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A quoting error and the line to look at. */
export interface CsvError {
  line: number;
  message: string;
}

/** A cell past the inline-value limit: stop before it costs memory in proportion to its size. */
function tooLong(line: number, field: number): { ok: false; error: CsvError } {
  return {
    ok: false,
    error: {
      line,
      message:
        `field ${field} is longer than ${MAX_INLINE_VALUE_CHARS} characters, the limit for a value written in a ` +
        'batch file; put a longer credential in a file (file:./path)',
    },
  };
}

/** Parses `text` into records; blank lines are skipped. Stops at the first quoting error. */
export function parseCsv(text: string): { ok: true; records: CsvRecord[] } | { ok: false; error: CsvError } {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  // Whether the current record has any content (a lone empty line is not a record).
  let started = false;

  const endRecord = () => {
    fields.push(field);
    if (started || fields.length > 1) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    started = false;
  };

  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      if (field !== '') {
        return {
          ok: false,
          error: { line, message: 'a double quote inside an unquoted field; wrap the whole field in double quotes and double the inner quote ("say ""hi""")' },
        };
      }
      const openLine = line;
      started = true;
      i++;
      let closed = false;
      while (i < s.length) {
        // Whole runs as slices: `+=` one character at a time costs ~30 bytes a character.
        const q = s.indexOf('"', i);
        const end = q < 0 ? s.length : q;
        for (let k = s.indexOf('\n', i); k >= 0 && k < end; k = s.indexOf('\n', k + 1)) line++;
        field += s.slice(i, end);
        if (field.length > MAX_INLINE_VALUE_CHARS) return tooLong(openLine, fields.length + 1);
        i = end;
        if (q < 0) break;
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        i++;
        closed = true;
        break;
      }
      if (!closed) {
        return {
          ok: false,
          error: { line: openLine, message: 'a quoted field starting on this line is never closed; add the closing double quote (and write a quote inside a field as "")' },
        };
      }
      const after = s[i];
      if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
        return {
          ok: false,
          error: { line, message: 'text right after a closing double quote; put a comma after the quote, or write a quote inside the field as ""' },
        };
      }
      // Keep a quoted empty field ("") distinct from "nothing was written" only for record detection.
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      started = true;
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    let end = i + 1;
    while (end < s.length && s[end] !== ',' && s[end] !== '\r' && s[end] !== '\n' && s[end] !== '"') end++;
    field += s.slice(i, end);
    if (field.length > MAX_INLINE_VALUE_CHARS) return tooLong(line, fields.length + 1);
    started = true;
    i = end;
  }
  if (started || field !== '' || fields.length > 0) endRecord();
  return { ok: true, records };
}
