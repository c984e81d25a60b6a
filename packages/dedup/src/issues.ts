/**
 * Validation issues worded for people, shared by the dedup SDK and the orchestrator (which imports it from here):
 * both validate with valibot. Not part of the package's public API.
 */
/**
 * A validation issue as valibot reports one (its path a list of `{ key }` items; plain keys are taken too).
 */
export interface ValidationIssue {
  readonly message: string;
  readonly expected?: string | null | undefined;
  readonly received?: string | undefined;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: unknown }> | undefined;
}

/**
 * Each issue as `path: message`; `root` names what an issue without a path is about.
 *  - valibot writes the value it received into its messages ("Expected >=30 but received 5"). That value is
 *    whatever the caller sent, a request body's text included, and these messages are logged and returned:
 *    it is left out.
 *  - A value that is missing (valibot: "… but received undefined") or a key a strict object does not know
 *    (valibot: "Invalid key: Expected never …") is said plainly, the path naming the key.
 */
export const issuesOf = (issues: readonly ValidationIssue[], root: string): string[] =>
  issues.map((i) => {
    const keys = (i.path ?? []).map((p) => String(typeof p === 'object' && p !== null ? p.key : p));
    const message =
      i.expected === 'never'
        ? 'unrecognized key'
        : i.received === 'undefined'
          ? `required, missing${i.expected && i.expected !== `"${keys.at(-1)}"` ? `: expected ${i.expected}` : ''}`
          : i.received === undefined
            ? i.message
            : i.message.replace(` but received ${i.received}`, '').replace(`: Received ${i.received}`, '');
    return `${keys.join('.') || root}: ${message}`;
  });
