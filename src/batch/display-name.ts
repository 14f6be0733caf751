/**
 * Display-name rules. Entra accepts up to 256 characters for an application's displayName
 * (Microsoft Graph application resource: "Maximum length is 256 characters"), counted as
 * .NET/JavaScript UTF-16 units. Quotes, apostrophes and non-ASCII letters are valid and must
 * stay valid (`O'Brien's AWS`, `Zürich Süd`, `東京 AWS`): control characters, invisible
 * characters, invalid Unicode and surrounding blanks are rejected, because two names that
 * look the same would become two apps nobody can tell apart in the portal.
 */

/** Entra's limit for application displayName. */
export const MAX_DISPLAY_NAME_LENGTH = 256;

// C0 controls, DEL and C1 controls: invisible, break logs and OData filters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate cannot be encoded as UTF-8, so Graph would reject or mangle it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Format characters (zero-width space, joiners, bidi controls, BOM…), line/paragraph
// separators, and the other default-ignorable characters (Hangul fillers, grapheme joiner…):
// they render as nothing, or reorder or break the text. Variation selectors are left alone:
// emoji need them (❤️), and the look-alike comparison drops them.
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u2800]|(?![\ufe00-\ufe0f\u{e0100}-\u{e01ef}])\p{Default_Ignorable_Code_Point}/u;
const VARIATION_SELECTORS = /[\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/gu;
const IS_VARIATION_SELECTOR = /^[\ufe00-\ufe0f\u{e0100}-\u{e01ef}]$/u;
const COMBINING = /^\p{M}/u;
const ASCII = /^[\u0000-\u007f]*$/;

/** Names of the invisible characters people actually meet (others are described by category). */
const INVISIBLE_NAMES: Readonly<Record<number, string>> = {
  0x00ad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x061c: 'ARABIC LETTER MARK',
  0x115f: 'HANGUL CHOSEONG FILLER',
  0x1160: 'HANGUL JUNGSEONG FILLER',
  0x17b4: 'KHMER VOWEL INHERENT AQ',
  0x17b5: 'KHMER VOWEL INHERENT AA',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0x2800: 'BRAILLE PATTERN BLANK',
  0x3164: 'HANGUL FILLER',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (byte order mark)',
  0xffa0: 'HALFWIDTH HANGUL FILLER',
  0xfff9: 'INTERLINEAR ANNOTATION ANCHOR',
  0xfffa: 'INTERLINEAR ANNOTATION SEPARATOR',
  0xfffb: 'INTERLINEAR ANNOTATION TERMINATOR',
  // Look-alikes named in duplicate messages.
  0x00a0: 'NO-BREAK SPACE',
  0x2126: 'OHM SIGN',
  0x212a: 'KELVIN SIGN',
  0x212b: 'ANGSTROM SIGN',
  0x3000: 'IDEOGRAPHIC SPACE',
};
const DIGITS = ['ZERO', 'ONE', 'TWO', 'THREE', 'FOUR', 'FIVE', 'SIX', 'SEVEN', 'EIGHT', 'NINE'];

function nameOf(cp: number): string | undefined {
  if (cp >= 0xff21 && cp <= 0xff3a) return `FULLWIDTH LATIN CAPITAL LETTER ${String.fromCharCode(cp - 0xff21 + 65)}`;
  if (cp >= 0xff41 && cp <= 0xff5a) return `FULLWIDTH LATIN SMALL LETTER ${String.fromCharCode(cp - 0xff41 + 65)}`;
  if (cp >= 0xff10 && cp <= 0xff19) return `FULLWIDTH DIGIT ${DIGITS[cp - 0xff10]}`;
  return INVISIBLE_NAMES[cp];
}

/** `U+200B ZERO WIDTH SPACE`, or `U+E0041 (an invisible format character)` when unnamed here. */
function describeCodePoint(char: string): string {
  const cp = char.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = nameOf(cp);
  if (name) return `${hex} ${name}`;
  if (/^\p{M}/u.test(char)) return `${hex} (a combining mark)`;
  if (/^[\p{Cf}\p{Default_Ignorable_Code_Point}]/u.test(char)) return `${hex} (an invisible format character)`;
  return hex;
}

/** What is wrong with a display name and how to fix it, or null when it is valid. */
export function displayNameProblem(name: string): string | null {
  if (name.trim() === '') {
    return name === ''
      ? 'is empty; give the instance a name, e.g. "AWS Contoso Prod"'
      : 'is blank (only spaces); give the instance a name, e.g. "AWS Contoso Prod"';
  }
  if (name.length > MAX_DISPLAY_NAME_LENGTH) {
    return `is ${name.length} characters long; Entra accepts at most ${MAX_DISPLAY_NAME_LENGTH}: shorten it`;
  }
  const control = CONTROL.exec(name);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return (
      `contains the control character U+${code} at position ${control.index + 1}; ` +
      'remove it (display names must be printable text)'
    );
  }
  if (LONE_SURROGATE.test(name)) {
    return 'contains invalid Unicode (a lone surrogate); re-type the name or save the file as UTF-8';
  }
  const invisible = INVISIBLE.exec(name);
  if (invisible) {
    return (
      `contains the invisible character ${describeCodePoint(invisible[0])} at position ${invisible.index + 1}; ` +
      'remove it (it would make a name that looks like another but is not; re-typing the name removes it)'
    );
  }
  if (name.trim() !== name) {
    return (
      'has leading or trailing spaces; ' +
      'remove them (Entra would trim them, so the name would not match later look-ups)'
    );
  }
  if (/^[\p{M}\s]+$/u.test(name)) {
    return (
      'has only combining marks (accents with no letter to sit on); ' +
      'give the instance a name made of letters, e.g. "AWS Contoso Prod"'
    );
  }
  if (COMBINING.test(name)) {
    return (
      `starts with ${describeCodePoint(name)}, which has no letter to sit on; ` +
      'remove it or put the letter it belongs to first'
    );
  }
  return null;
}

/** Simple (one-to-one) uppercase mapping per code point, as .NET's invariant ToUpper does. */
function simpleUpper(s: string): string {
  if (ASCII.test(s)) return s.toUpperCase(); // the common case, 10,000 names at a time
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    // Full mappings that expand (ß → SS) are not simple mappings: the character stays.
    out += up.length === ch.length || [...up].length === 1 ? up : ch;
  }
  return out;
}

/**
 * Key under which Entra treats two display names as the same: ordinal, ignoring case (per code
 * point, simple uppercase; no Unicode normalisation). `toLowerCase` would be wrong here: it
 * maps the Kelvin sign U+212A to `k`, a duplicate Entra does not see.
 */
export function displayNameCompareKey(name: string): string {
  return simpleUpper(name);
}

/**
 * Key under which two display names look alike: NFKC (composed and decomposed accents,
 * full-width letters, the Kelvin sign, ligatures fold together), variation selectors dropped,
 * then case folded. Entra would accept both names, but nobody could tell the apps apart.
 */
export function displayNameLookAlikeKey(name: string): string {
  if (ASCII.test(name)) return name.toUpperCase(); // NFKC leaves ASCII as it is
  return simpleUpper(name.normalize('NFKC').replace(VARIATION_SELECTORS, '')).normalize('NFKC');
}

/** Why two names look alike, for messages: the first compatibility character, if any. */
export function lookAlikeHint(a: string, b: string): string {
  for (const name of [a, b]) {
    for (const ch of name) {
      if (IS_VARIATION_SELECTOR.test(ch)) return ` (one has the variation selector ${describeCodePoint(ch)})`;
      if (ch.normalize('NFKC') !== ch) {
        return ` (one has ${describeCodePoint(ch)}, which looks like '${ch.normalize('NFKC')}')`;
      }
    }
  }
  return ' (the same letters, written in different Unicode forms: composed and decomposed accents)';
}
