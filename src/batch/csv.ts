/**
 * RFC 4180 CSV through csv-parse: comma-separated, fields optionally in double quotes, `""` for
 * a quote inside a quoted field, quoted fields may span lines, CRLF, LF or CR line ends (mixed
 * too), an optional UTF-8 BOM (Excel writes one). Strict about quotes, because a stray quote
 * usually means a broken export, and guessing would silently shift values into the wrong columns.
 * Added here: the line each record and error starts on (csv-parse counts a CRLF inside a quoted
 * field as two lines), the per-cell cap, and messages that never quote the file.
 */
import { CsvError as CsvParseError, type Options, parse } from 'csv-parse/sync';
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

type Failure = { ok: false; error: CsvError };

// csv-parse's bound on one row, so a huge cell stops early: it counts the row's finished cells in
// characters plus the current cell in bytes (at most 3 per character). With every finished cell
// under the cap, a row stopped at its cell number ROW_CAP_CELLS - 3 or before has a current cell
// longer than 3 × the cap in bytes, so over the cap in characters too.
const ROW_CAP_CELLS = 64;
const MAX_ROW = ROW_CAP_CELLS * MAX_INLINE_VALUE_CHARS;

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

const OPTIONS: Options = {
  bom: false, // the caller strips it from the text
  delimiter: ',',
  quote: '"',
  escape: '"',
  // Listed, not discovered: discovery keeps the first line's ending and misreads mixed files.
  record_delimiter: ['\r\n', '\n', '\r'],
  relax_column_count: true, // the batch reader reports every row with the wrong count
  skip_empty_lines: true,
  max_record_size: MAX_ROW,
};

/** Thrown from csv-parse's hooks to stop at a cell over the cap: its field number and line. */
class CellTooLong extends Error {
  constructor(
    readonly field: number,
    readonly line: number,
  ) {
    super('cell too long');
  }
}

const fail = (line: number, message: string): Failure => ({ ok: false, error: { line, message } });

/** A cell past the inline-value limit: stop before it costs memory in proportion to its size. */
const tooLong = (line: number, field: number): Failure =>
  fail(
    line,
    `field ${field} is longer than ${MAX_INLINE_VALUE_CHARS} characters, the limit for a value written in a ` +
      'batch file; put a longer credential in a file (file:./path)',
  );

/** Line ends in `s` (CRLF, LF or a lone CR), as `Lines` counts them. */
function lineBreaks(s: string): number {
  let n = 0;
  for (let i = s.search(/[\r\n]/); i >= 0 && i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === LF || (c === CR && s.charCodeAt(i + 1) !== LF)) n++;
  }
  return n;
}

/** 1-based line of byte offsets, counting CRLF, LF and a lone CR as one line end each. */
class Lines {
  private offset = 0;
  private line = 1;
  constructor(private readonly bytes: Buffer) {}

  at(offset: number): number {
    // Offsets asked for only grow while parsing; restart if one does not.
    if (offset < this.offset) [this.offset, this.line] = [0, 1];
    const b = this.bytes;
    for (let i = this.offset; i < offset; i++) {
      const c = b[i];
      if (c === LF || (c === CR && b[i + 1] !== LF)) this.line++;
    }
    this.offset = offset;
    return this.line;
  }
}

/** The UTF-8 bytes of CSV text without a leading byte order mark (nor a second one, as editors may add). */
function csvBytes(input: string | Uint8Array): Buffer {
  if (typeof input === 'string') return Buffer.from(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input, 'utf8');
  // The file's own bytes, already checked as UTF-8: no second copy of a file of up to 256 MiB.
  let bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  for (let i = 0; i < 2 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf; i++) bytes = bytes.subarray(3);
  return bytes;
}

/** Parses CSV text (or its UTF-8 bytes) into records; blank lines are skipped. Stops at the first quoting error. */
export function parseCsv(input: string | Uint8Array): { ok: true; records: CsvRecord[] } | Failure {
  const bytes = csvBytes(input);
  const lines = new Lines(bytes);
  // No text cell holds a NUL: it means a binary or damaged file, and Graph would refuse the value anyway.
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    return fail(
      lines.at(nul),
      'this line contains a NUL byte (0x00), which no CSV text holds: the file is binary, damaged or in an ' +
        'encoding other than UTF-8; open it in a text editor and save it as UTF-8 CSV',
    );
  const records: CsvRecord[] = [];
  // The header alone first: csv-parse builds an error object (tens of µs) for every row whose
  // length differs from the first row's, and a body that is all wrong would pay it on every row.
  const header = readRecords(bytes, 0, lines, records, 1);
  if (!header.ok) return header;
  if (records.length === 0 || header.end >= bytes.length) return { ok: true, records };
  const body = readRecords(bytes, header.end, lines, records, -1);
  return body.ok ? { ok: true, records } : body;
}

/** Reads up to `to` records (-1: all) from `bytes[base..]` into `records`; `end` is where they stop. */
function readRecords(
  bytes: Buffer,
  base: number,
  lines: Lines,
  records: CsvRecord[],
  to: number,
): { ok: true; end: number } | Failure {
  // csv-parse gives byte offsets of the last record or field boundary; a record starts after the
  // previous one and any blank lines, a field after the comma at `info.bytes`.
  let recordEnd = base;
  const rowStart = () => {
    let i = recordEnd;
    while (bytes[i] === LF || bytes[i] === CR) i++;
    return i;
  };
  try {
    parse(bytes.subarray(base), {
      ...OPTIONS,
      to,
      // Kept here with its line rather than in csv-parse's result list.
      on_record: (fields, context) => {
        const line = lines.at(rowStart());
        let breaks = 0;
        for (let i = 0; i < fields.length; i++) {
          if (fields[i]!.length > MAX_INLINE_VALUE_CHARS) throw new CellTooLong(i + 1, line + breaks);
          breaks += lineBreaks(fields[i]!);
        }
        records.push({ line, fields });
        recordEnd = base + context.bytes;
        return null;
      },
    });
    return { ok: true, end: recordEnd };
  } catch (e) {
    if (e instanceof CellTooLong) return tooLong(e.line, e.field);
    if (!(e instanceof CsvParseError)) throw e;
    // Never quote e.message: csv-parse puts the field's text (maybe a secret) in it.
    const column = Number(e.column);
    const start = column > 0 && typeof e.bytes === 'number' ? base + e.bytes + 1 : rowStart();
    switch (e.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return fail(
          lines.at(start),
          'a quoted field starting on this line is never closed; add the closing double quote ' +
            '(and write a quote inside a field as "")',
        );
      case 'INVALID_OPENING_QUOTE':
        return fail(
          lines.at(start),
          'a double quote inside an unquoted field; wrap the whole field in double quotes and double the ' +
            'inner quote ("say ""hi""")',
        );
      case 'CSV_INVALID_CLOSING_QUOTE':
        return fail(
          lines.at(closingQuote(bytes, start)),
          'text right after a closing double quote; put a comma after the quote, or write a quote inside ' +
            'the field as ""',
        );
      case 'CSV_MAX_RECORD_SIZE':
        return longRow(bytes, rowStart(), lines.at(rowStart()));
      default:
        return fail(lines.at(start), `this line cannot be read as CSV (${e.code}); check its quotes and commas`);
    }
  }
}

/**
 * A row stopped by csv-parse's row bound: reads it again checking each cell as it ends, to name
 * the first cell over the cap (an earlier one may be, the row check runs only at the row's end).
 */
function longRow(bytes: Buffer, start: number, line: number): Failure {
  let breaks = 0;
  try {
    parse(bytes.subarray(start), {
      ...OPTIONS,
      to: 1,
      // Per-cell hook only here: csv-parse builds a context object for each call (cost: ADR 0004).
      cast: (value, context) => {
        if (value.length > MAX_INLINE_VALUE_CHARS) throw new CellTooLong(Number(context.column) + 1, line + breaks);
        breaks += lineBreaks(value);
        return value;
      },
    });
  } catch (e) {
    if (e instanceof CellTooLong) return tooLong(e.line, e.field);
    const column = e instanceof CsvParseError ? Number(e.column) : NaN;
    if (column < ROW_CAP_CELLS - 3) return tooLong(line + breaks, column + 1);
  }
  return fail(
    line,
    `the row is longer than ${MAX_ROW / 1024 / 1024} MiB; a batch row has a few dozen cells at most: check for ` +
      'a missing closing quote, and put long credentials in files (file:./path)',
  );
}

/** Offset of the quote closing the quoted field that opens at `start` (`""` is a quote inside it). */
function closingQuote(bytes: Buffer, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = bytes.indexOf(QUOTE, i);
    if (q < 0) return start;
    if (bytes[q + 1] !== QUOTE) return q;
    i = q + 2;
  }
}
