/**
 * Resolves credential references: `{value}` as written, `{env}` from the environment,
 * `{file}` from disk relative to the batch file. A reference written once in `defaults` is
 * resolved (and, if broken, reported) once, not once per instance; files are read once.
 * Messages name the variable or the file, never the value.
 */
import { isAbsolute, resolve } from 'node:path';
import type { CredentialSourceKind } from './batch-types.ts';
import { hidden, mayEchoPath, mayEchoVariableName } from './echo-safe.ts';
import { formatPath } from './problem-path.ts';
import { readBounded } from './read-bounded.ts';
import { decodeUtf8 } from './utf8.ts';
import type { PlannedCredential } from './validate-batch.ts';
import type { RawProblem } from './zod-problems.ts';

/** A credential file larger than this is almost certainly the wrong file. */
const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** The outcome for one reference; `problem` is null when it was already reported. */
export type Resolution =
  { ok: true; value: string; source: CredentialSourceKind } | { ok: false; problem: RawProblem | null };

type FileRead = { ok: true; text: string } | { ok: false; why: string };

/** Resolves references for one batch file. */
export class CredentialResolver {
  private readonly byOrigin = new Map<string, Resolution>();
  private readonly files = new Map<string, Promise<FileRead>>();

  constructor(
    /** Directory of the batch file: `{file}` paths are relative to it. */
    private readonly baseDir: string,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  async resolve(credential: PlannedCredential): Promise<Resolution> {
    const originKey = formatPath(credential.origin);
    const cached = this.byOrigin.get(originKey);
    if (cached) return cached.ok ? cached : { ok: false, problem: null };
    const result = await this.resolveUncached(credential);
    this.byOrigin.set(originKey, result);
    return result;
  }

  private async resolveUncached({ key, ref, origin }: PlannedCredential): Promise<Resolution> {
    const fail = (field: string, message: string): Resolution => ({
      ok: false,
      problem: { path: [...origin, field], message },
    });
    let value: string;
    let source: CredentialSourceKind;
    if (ref.env !== undefined) {
      // Own properties only: `toString` or `constructor` must read as unset, not as a function.
      const v = Object.hasOwn(this.env, ref.env) ? this.env[ref.env] : undefined;
      if (v === undefined) {
        if (!mayEchoVariableName(ref.env)) {
          // Likely a value pasted where the name goes: describe it, never print it back.
          return fail(
            'env',
            `names an environment variable that is not set ${hidden(ref.env)}, and the name looks like a value ` +
              `rather than a variable name: put the ${key} value in an environment variable and write its name here, ` +
              'e.g. {"env": "AWS_SECRET_TOKEN"}',
          );
        }
        return fail(
          'env',
          `environment variable ${ref.env} is not set; export ${ref.env}=… before running (or use {"file": "./path"})`,
        );
      }
      if (v === '') {
        const name = mayEchoVariableName(ref.env) ? `${ref.env} ` : `${hidden(ref.env)} `;
        return fail('env', `environment variable ${name}is set but empty; give it the ${key} value`);
      }
      value = v;
      source = 'env';
    } else if (ref.file !== undefined) {
      const path = isAbsolute(ref.file) ? ref.file : resolve(this.baseDir, ref.file);
      // A value pasted where the path goes is described, never printed back.
      const shown = mayEchoPath(ref.file)
        ? path
        : `named here ${hidden(ref.file).slice(0, -1)}; it does not look like a path: ` +
          `if it is the ${key} value, put it in a file or an environment variable)`;
      const read = await this.readCredentialFile(path);
      if (!read.ok) return fail('file', shown === path ? read.why : read.why.split(path).join(shown));
      if (read.text === '') return fail('file', `file ${shown} is empty; put the ${key} value in it`);
      value = read.text;
      source = 'file';
    } else {
      value = ref.value ?? '';
      source = 'value';
      if (value === '') return fail('value', 'is empty; give the value, or remove this credential');
    }
    const formatProblem = valueFormatProblem(key, value);
    if (formatProblem !== null) return fail(source, formatProblem);
    return { ok: true, value, source };
  }

  private readCredentialFile(path: string): Promise<FileRead> {
    let pending = this.files.get(path);
    if (!pending) {
      pending = readCredentialFile(path);
      this.files.set(path, pending);
    }
    return pending;
  }
}

async function readCredentialFile(path: string): Promise<FileRead> {
  const read = await readBounded(path, MAX_CREDENTIAL_FILE_BYTES);
  if (!read.ok) {
    switch (read.why) {
      case 'missing':
        return {
          ok: false,
          why:
            `file ${path} does not exist; create it or fix the path ` +
            "(relative paths start at the batch file's folder)",
        };
      case 'denied':
        return {
          ok: false,
          why: `file ${path} cannot be read (permission denied); let the user running provflow read it`,
        };
      case 'directory':
        return { ok: false, why: `${path} is a directory; point to the file that holds the value` };
      case 'not-regular':
        return { ok: false, why: `${path} is ${read.kind}, not a regular file; point to a file that holds the value` };
      case 'too-large':
        return { ok: false, why: `file ${path} is larger than 1 MiB; point to a file that holds only the value` };
      default:
        return { ok: false, why: `file ${path} cannot be read (${read.code}); check the path` };
    }
  }
  const decoded = decodeUtf8(read.bytes);
  // Name the file only: the line of a bad byte would point into the secret.
  if (!decoded.ok) return { ok: false, why: `file ${path}: ${decoded.message}` };
  let text = decoded.text;
  // Editors and `echo` add one final newline; it is never part of a secret.
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);
  return { ok: true, text };
}

/** Keys whose values Graph parses; checked here so a bad value fails before any app is created. */
function valueFormatProblem(key: string, value: string): string | null {
  if (key === 'SyncNotificationSettings') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return null;
    } catch {
      // fall through
    }
    return 'must be a JSON object written as a string, e.g. "{\\"Enabled\\":false,\\"DeleteThresholdEnabled\\":false}"';
  }
  return null;
}
