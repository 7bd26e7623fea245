import { readFileSync, statSync } from 'node:fs';

/**
 * A bearer token kept in a file that the platform rotates (a projected service-account token, an
 * OIDC token for a sink audience). Re-read when its modification time changes, checked at most
 * once a second so the hot path does no I/O.
 */
export class TokenFile {
  private token: string | undefined;
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    private readonly path: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {
    this.refresh();
  }

  get(): string | undefined {
    const now = Date.now();
    if (now - this.checkedAt >= 1000) {
      this.checkedAt = now;
      this.refresh();
    }
    return this.token;
  }

  private refresh(): void {
    try {
      const { mtimeMs } = statSync(this.path);
      if (mtimeMs === this.mtimeMs) return;
      this.token = readFileSync(this.path, 'utf8').trim() || undefined;
      this.mtimeMs = mtimeMs;
    } catch (error) {
      // Keep the last good token: a rotation replaces the file, briefly absent.
      this.onError(error as Error);
    }
  }
}
