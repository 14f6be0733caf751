/** Running a command on a pseudo-terminal with util-linux `script`, and reading what it drew. */
import { execFileSync } from 'node:child_process';

/** Whether `script` is installed (the terminal tests skip without it). */
export const HAS_SCRIPT = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** What a terminal shows, row by row: every cursor move or erase starts a new row. */
export function screenRows(raw: string): string[] {
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n')
    .split(/\r\n|\r|\n/)
    .filter((l) => l.length > 0);
}
