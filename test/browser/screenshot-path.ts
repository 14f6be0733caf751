/**
 * Where browser tests save screenshots: an ignored folder, so a test run never dirties the tree.
 * `npm run screenshots` sets PROVFLOW_UPDATE_SCREENSHOTS=1 to refresh the tracked ones README shows.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export function screenshotPath(name: string): string {
  const tracked = process.env.PROVFLOW_UPDATE_SCREENSHOTS === '1';
  const dir = path.join(import.meta.dirname, tracked ? 'screenshots' : '.output');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
