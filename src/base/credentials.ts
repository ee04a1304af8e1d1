/**
 * The credentials inside a URL (`scheme://user:password@host…`), found in the raw text before any parsing,
 * so that a password holding an unencoded `/`, `@`, `?` or `#` is still recognised whole: it never reaches an
 * error message or a log line, whatever else is wrong with the URL.
 *
 * @module
 */

/** A URL split around its user info; `userinfo` is `undefined` when it has none. */
export interface SplitUrl {
  /** `scheme://` */
  readonly head: string;
  /** What stands between `scheme://` and the last `@` (still percent-encoded). */
  readonly userinfo?: string;
  /** The rest: host, port, path. */
  readonly rest: string;
}

/**
 * Splits `url` at its last `@`: hosts, ports and paths of the URLs the cache opens hold no `@`, while a
 * password may hold any character, so the last `@` is where the credentials end.
 */
export function splitUserinfo(url: string): SplitUrl {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const at = url.lastIndexOf("@");
  if (!scheme || at < scheme[0].length) {
    return { head: scheme?.[0] ?? "", rest: url.slice(scheme?.[0].length) };
  }
  return { head: scheme[0], userinfo: url.slice(scheme[0].length, at), rest: url.slice(at + 1) };
}

/** The user info's password: after its first `:`, or all of it without one (`redis://PASSWORD@host`). */
function password(userinfo: string): string {
  const colon = userinfo.indexOf(":");
  return colon < 0 ? userinfo : userinfo.slice(colon + 1);
}

/** The secrets inside a URL (its password, as written and decoded), so logs can redact them. */
export function urlSecrets(url: string): string[] {
  const { userinfo } = splitUserinfo(url);
  const secret = userinfo === undefined ? "" : password(userinfo);
  if (secret === "") return [];
  let decoded = secret;
  try {
    decoded = decodeURIComponent(secret);
  } catch { /* not valid percent-encoding: the text as written is the secret */ }
  return decoded === secret ? [secret] : [secret, decoded];
}

/** `url` for messages: the password replaced by `***` (the user name kept). */
export function redactUrl(url: string): string {
  const { head, userinfo, rest } = splitUserinfo(url);
  if (userinfo === undefined) return url;
  const colon = userinfo.indexOf(":");
  return `${head}${colon < 0 ? "" : userinfo.slice(0, colon + 1)}***@${rest}`;
}
