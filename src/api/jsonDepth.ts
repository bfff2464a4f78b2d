/**
 * How deeply a JSON body may nest objects and arrays. Deeper bodies are refused before any work:
 * JSON.stringify and other recursive code overflow the stack a few thousand levels down, and a body
 * stored just under that limit once made every later read of its job a 500 (issue 14, item 5).
 * Real payloads (chat messages, tool schemas, reward metadata) stay far below this.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests deeper than `max` levels (a top-level object or array is level 1).
 * Iterative, so the check itself cannot overflow the stack, and it stops at the first offender.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    // Parsed JSON holds only plain objects and arrays: index arrays, and read objects' keys with
    // for-in, allocating nothing per node (a 4 MB body can hold a million of them).
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const record = node as Record<string, unknown>;
    for (const key in record) {
      const child = record[key];
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
