/**
 * Builds a value at the first call and hands the same promise to every later one; a build that failed is
 * forgotten, so the next call tries again (an HTTP app whose settings could not be read yet, say).
 */
export function buildOnce<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
}
