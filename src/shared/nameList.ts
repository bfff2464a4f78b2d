/** Most names an error message lists; a template may have hundreds of placeholders. */
export const MAX_LISTED_NAMES = 20;

/** `a, b, c` or, past MAX_LISTED_NAMES, the first ones `and N more`. */
export function nameList(names: readonly string[]): string {
  const listed = names.slice(0, MAX_LISTED_NAMES).join(', ');
  return names.length > MAX_LISTED_NAMES ? `${listed} and ${names.length - MAX_LISTED_NAMES} more` : listed;
}
