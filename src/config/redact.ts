/** Query parameters whose values look like credentials (`token`, `sig`, `X-Amz-Signature`, `api_key`, …). */
export const SECRET_QUERY_PARAM = /sig|signature|token|secret|passw|pwd|key|credential|auth|session|code/i;

/** Replaces the values of secret-looking query parameters in place; false when there were none. */
export function maskSecretQueryParams(url: URL, mask: string): boolean {
  if (!url.search) return false;
  let changed = false;
  for (const name of new Set(url.searchParams.keys())) {
    if (SECRET_QUERY_PARAM.test(name)) {
      url.searchParams.set(name, mask);
      changed = true;
    }
  }
  return changed;
}

/** What stands for a secret in a printed URL: the OpenTelemetry semantic conventions' word for `url.full`. */
export const REDACTED = 'REDACTED';

/**
 * A URL fit to print, log or put on a span (`validate` output, `url.full`): credentials become
 * `REDACTED:REDACTED` (a bare username is often a token) and the values of secret-looking query
 * parameters `REDACTED`, as the semantic conventions ask. Text that is not a URL comes back as it is.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  if (url.username || url.password) {
    url.username = REDACTED;
    url.password = REDACTED;
  }
  if (maskSecretQueryParams(url, REDACTED)) url.search = url.searchParams.toString();
  return url.href;
}
