import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A file's text, refused past `maxBytes` without reading more than that: a regular file by its size,
 * anything else (a pipe, /dev/zero) by reading no further than one byte past the limit.
 * `{ error }` says why not: the system's code (`ENOENT`) or the size.
 */
export function readBoundedFile(path: string, maxBytes: number): { text: string } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return { error: codeOf(error) };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { error: 'EISDIR' };
    if (stat.isFile() && stat.size > maxBytes)
      return { error: `it is ${formatBytes(stat.size)}, more than the ${formatBytes(maxBytes)} allowed` };
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > maxBytes) return { error: `it is more than the ${formatBytes(maxBytes)} allowed` };
    return { text: buffer.toString('utf8', 0, length) };
  } catch (error) {
    return { error: codeOf(error) };
  } finally {
    closeSync(fd);
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** `1.5 MiB`, `4 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}
