import { redactCredentials } from './redact.js';

/** How much of a refused value a message quotes: enough to recognise it, never a 30 MB echo. */
export const ECHO_LIMIT = 100;

/**
 * A value as a message quotes it: `"text"`, credentials masked (redactCredentials), and cut after
 * ECHO_LIMIT characters with its length said: `"aaaa…" (30000000 characters)`. Masking comes first,
 * so a cut can never leave half a password outside the mask.
 */
export function quote(text: string): string {
  const safe = redactCredentials(text);
  if (safe.length <= ECHO_LIMIT) return `"${safe}"`;
  return `"${safe.slice(0, ECHO_LIMIT)}…" (${text.length} characters)`;
}
