// Reading request headers the way node:http hands them over (lowercase keys, string or string[]).
// Shared by the webhook verifier and parser; no I/O.

export type HeaderBag = Record<string, string | string[] | undefined>;

/** First value of a header, looked up case-insensitively; undefined when absent or empty. */
export function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === "" ? undefined : first;
}

/** First header present among `names`, with the name it was found under. */
export function firstHeader(
  headers: HeaderBag,
  names: readonly string[],
): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = header(headers, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}
