import { randomUUID } from 'node:crypto';
import { link, rename, unlink, writeFile } from 'node:fs/promises';

/**
 * Writes `data` to `path` only if nothing is there yet, and never lets a reader see a half-written
 * file. Returns true if this call created the file.
 *
 * A plain write-then-rename is atomic but silently replaces a file another process created in the
 * meantime — two processes starting together would then each sign with a different CA key. A hard
 * link from a fully written temp file is just as atomic but fails with EEXIST instead, so the
 * first writer wins and everyone else re-reads what is on disk.
 */
export async function createFileExclusive(path: string, data: string, mode: number): Promise<boolean> {
  const temp = await writeTemp(path, data, mode);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Atomically replaces `path`: readers see the old or the new content, never a mix. */
export async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  const temp = await writeTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

async function writeTemp(path: string, data: string, mode: number): Promise<string> {
  // Same folder as the target, because link and rename only work within one file system.
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  // The mode is applied at creation (the umask can only narrow it), so a key never exists on disk
  // with wider permissions, not even for a moment.
  await writeFile(temp, data, { mode, flag: 'wx' });
  return temp;
}
