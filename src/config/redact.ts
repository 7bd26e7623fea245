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

/**
 * Any text fit to echo in a message: a URL as `redactUrl` masks it, but unchanged when it has nothing
 * to mask (an echo quotes what the user wrote, not its normal form); text that is no URL at all (an
 * invalid sink URI such as `http://user:pw@bad host`) with everything up to its last `@` and the values
 * of secret-looking query parameters masked, as no parser can say where its credentials end.
 */
export function redactCredentials(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url) return url.username || url.password || hasSecretQueryParam(url) ? redactUrl(text) : text;
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)?\S*@/i, `$1${REDACTED}:${REDACTED}@`)
    .replace(/\s([a-z][a-z0-9+.-]*:\/\/)?\S*@/gi, ` $1${REDACTED}:${REDACTED}@`)
    .replace(/([?&;])([^=&#\s]+)=([^&#\s]*)/g, (whole, separator: string, name: string) =>
      SECRET_QUERY_PARAM.test(name) ? `${separator}${name}=${REDACTED}` : whole,
    );
}

function hasSecretQueryParam(url: URL): boolean {
  for (const name of url.searchParams.keys()) if (SECRET_QUERY_PARAM.test(name)) return true;
  return false;
}
