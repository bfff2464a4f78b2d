/** What `fn` throws, or undefined when it returns: for tests that look into a thrown error's fields. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
