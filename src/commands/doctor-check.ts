/** One line of `provflow doctor`'s checklist. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do when the check fails (null when it passed). */
  fix: string | null;
}

export const ok = (name: string, detail: string): Check => ({ name, ok: true, detail, fix: null });
export const fail = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix });
