/**
 * Strict UTF-8 decoding for batch and credential files. A lenient decode turns every byte
 * that is not UTF-8 (a Windows-1252 "ü") into U+FFFD, which silently changes names and
 * secrets; so anything that is not UTF-8 is refused, naming UTF-16 when it is that.
 * A UTF-8 byte order mark (as Excel and Notepad write) is fine and removed.
 */

/** The text, or why the bytes are not UTF-8 and the first line (1-based) where they are not. */
export type Utf8Decode = { ok: true; text: string } | { ok: false; line: number; message: string };

const SAVE_AS = 'save it as UTF-8 (in most editors: "Save as" / "Encoding: UTF-8")';

/** Decodes `bytes` as UTF-8 or says which encoding it looks like instead. */
export function decodeUtf8(bytes: Uint8Array): Utf8Decode {
  const utf16 = utf16Kind(bytes);
  if (utf16 !== null) return { ok: false, line: 1, message: `the file is encoded as ${utf16}, not UTF-8; ${SAVE_AS}` };
  try {
    // ignoreBOM false (the default): a leading UTF-8 BOM is consumed, not returned.
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    return {
      ok: false,
      line: lineOf(bytes, offset),
      message: `the file is not valid UTF-8 (files saved as Windows-1252 or Latin-1 look like this); ${SAVE_AS}`,
    };
  }
}

/** "UTF-16 (little-endian)" etc. for a UTF-16 BOM or ASCII text with every other byte NUL. */
function utf16Kind(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'UTF-16 (little-endian, with a byte order mark)';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'UTF-16 (big-endian, with a byte order mark)';
  const n = Math.min(bytes.length, 512) & ~1;
  if (n < 2) return null;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenNul++;
    if (bytes[i + 1] === 0) oddNul++;
  }
  // Mostly-ASCII UTF-16 has a NUL in nearly every other byte; UTF-8 text has none.
  const pairs = n / 2;
  if (oddNul >= pairs * 0.5 && evenNul === 0) return 'UTF-16 (little-endian)';
  if (evenNul >= pairs * 0.5 && oddNul === 0) return 'UTF-16 (big-endian)';
  return null;
}

/** Offset of the first byte that breaks UTF-8 (overlongs, surrogates and > U+10FFFF included). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return b.length;
}

function lineOf(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
