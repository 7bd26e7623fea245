/**
 * Progress while the load runs: on a terminal one line rewritten in place (\r), else a plain line
 * every 5 s so CI logs stay short.
 */
export interface ProgressState {
  sent: number;
  failed: number;
  target: number;
  elapsedMs: number;
  totalMs: number;
}

export function progressLine(state: ProgressState, width = 24): string {
  const fraction = state.target > 0 ? Math.min(1, (state.sent + state.failed) / state.target) : 1;
  const filled = Math.round(fraction * width);
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 ? state.sent / seconds : 0;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  return `${bar} ${state.sent}/${state.target}${state.failed ? ` (${state.failed} failed)` : ''}  ${rate.toFixed(1)} msg/s  ${seconds.toFixed(1)}/${(state.totalMs / 1000).toFixed(0)} s`;
}

export function plainLine(state: ProgressState): string {
  const seconds = state.elapsedMs / 1000;
  const rate = seconds > 0 ? state.sent / seconds : 0;
  return `${seconds.toFixed(0).padStart(4)} s  sent ${state.sent}/${state.target}  failed ${state.failed}  ${rate.toFixed(1)} msg/s`;
}

/** Starts reporting `read()` to `out`; the returned function stops it (and ends the in-place line). */
export function startProgress(read: () => ProgressState, out: NodeJS.WriteStream, tty = out.isTTY === true): () => void {
  const timer = setInterval(() => out.write(tty ? `\r${progressLine(read())}\x1b[K` : `${plainLine(read())}\n`), tty ? 200 : 5000);
  return () => {
    clearInterval(timer);
    if (tty) out.write(`\r${progressLine(read())}\x1b[K\n`);
  };
}
