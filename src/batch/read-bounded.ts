/**
 * Reads a batch file or a `{file}` credential with a hard size bound. `stat.size` is 0 for
 * devices, FIFOs and /proc files, so it is never trusted: only regular files outside /proc
 * and /sys are read, and a read stops after `limit + 1` bytes whatever the file claims.
 */
import { constants, type Stats } from 'node:fs';
import { open, stat, statfs } from 'node:fs/promises';

/** The bytes of a regular file, or why it was not read. */
export type BoundedRead =
  | { ok: true; bytes: Buffer }
  | { ok: false; why: 'missing' | 'denied' | 'directory' | 'too-large' }
  | { ok: false; why: 'not-regular'; kind: string }
  | { ok: false; why: 'error'; code: string };

// statfs f_type of pseudo-filesystems whose files report size 0 and may be endless.
const PROC_SUPER_MAGIC = 0x9fa0;
const SYSFS_MAGIC = 0x62656572;
const CHUNK = 64 * 1024;

/** What a non-regular file is, in words for a message. */
function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Reads at most `limit` bytes of the regular file at `path`; more is `too-large`. */
export async function readBounded(path: string, limit: number): Promise<BoundedRead> {
  try {
    // Type check before open: opening a device can have side effects and a FIFO would block.
    const info = await stat(path);
    if (info.isDirectory()) return { ok: false, why: 'directory' };
    if (!info.isFile()) return { ok: false, why: 'not-regular', kind: kindOf(info) };
    const fs = await statfs(path).catch(() => null);
    if (fs !== null && (fs.type === PROC_SUPER_MAGIC || fs.type === SYSFS_MAGIC)) {
      return { ok: false, why: 'not-regular', kind: 'a /proc or /sys pseudo-file' };
    }
    if (info.size > limit) return { ok: false, why: 'too-large' };
    // O_NONBLOCK and a second check on the open handle: the path may have been swapped since stat.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) return { ok: false, why: 'not-regular', kind: kindOf(opened) };
      const chunks: Buffer[] = [];
      let total = 0;
      while (total <= limit) {
        const buffer = Buffer.allocUnsafe(Math.min(CHUNK, limit + 1 - total));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        chunks.push(buffer.subarray(0, bytesRead));
        total += bytesRead;
      }
      if (total > limit) return { ok: false, why: 'too-large' };
      return { ok: true, bytes: Buffer.concat(chunks, total) };
    } finally {
      await handle.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, why: 'missing' };
    if (code === 'EACCES' || code === 'EPERM') return { ok: false, why: 'denied' };
    if (code === 'EISDIR') return { ok: false, why: 'directory' };
    return { ok: false, why: 'error', code };
  }
}
