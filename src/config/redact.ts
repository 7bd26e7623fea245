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

/** A URL as `validate` prints it: the password (else a bare username, often a token) and secret query values masked. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    else if (url.username) url.username = '***';
    maskSecretQueryParams(url, '***');
    return url.toString();
  } catch {
    return text;
  }
}
