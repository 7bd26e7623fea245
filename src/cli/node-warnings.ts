/**
 * kafkajs 2.2.4 arms a timer with a negative delay on every connection (its request queue starts
 * with `throttledUntil = -1`), and Node 24 warns about each one on stderr (TimeoutNegativeWarning).
 * The timer fires at once, as kafkajs intends: the warning is noise that would bury real ones, so
 * that one warning, and only it, is dropped. Every other warning prints as Node would print it.
 */
export function silenceKafkajsTimerWarning(): void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') return;
    for (const listener of defaults) listener(warning);
  });
}
