/**
 * Display-name rules. Entra accepts up to 256 characters for an application's displayName
 * (Microsoft Graph application resource: "Maximum length is 256 characters"), counted as
 * .NET/JavaScript UTF-16 units. Quotes, apostrophes and non-ASCII letters are valid and must
 * stay valid (`O'Brien's AWS`, `Zürich Süd`, `東京 AWS`): only control characters, invalid
 * Unicode and surrounding blanks are rejected.
 */

/** Entra's limit for application displayName. */
export const MAX_DISPLAY_NAME_LENGTH = 256;

// C0 controls, DEL and C1 controls: invisible, break logs and OData filters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate cannot be encoded as UTF-8, so Graph would reject or mangle it.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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
    return `contains the control character U+${code} at position ${control.index + 1}; remove it (display names must be printable text)`;
  }
  if (LONE_SURROGATE.test(name)) {
    return 'contains invalid Unicode (a lone surrogate); re-type the name or save the file as UTF-8';
  }
  if (name.trim() !== name) {
    return 'has leading or trailing spaces; remove them (Entra would trim them, so the name would not match later look-ups)';
  }
  return null;
}

/**
 * Key under which two display names count as the same: Entra compares names
 * case-insensitively, and NFC folds composed/decomposed accents together.
 */
export function displayNameCompareKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}
