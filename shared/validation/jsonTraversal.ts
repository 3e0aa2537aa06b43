/** A place in a parsed JSON value: object keys and array indexes from the root. */
export type JsonPath = ReadonlyArray<string | number>;

export interface JsonNode {
  value: unknown;
  path: JsonPath;
  /** How many objects and arrays enclose this value (the root is at 0). */
  depth: number;
  /** Its place among its container's members or elements, from 0 (the root: 0). */
  position: number;
}

/**
 * Every value of a parsed JSON value, the root first, depth first, with an explicit stack instead of recursion:
 * input is hostile, and a body of 1 MiB can nest half a million arrays deep, which overflows the call stack of
 * any recursive walk (JSON.stringify included). A consumer stops the walk by leaving its loop.
 */
export function* jsonNodes(root: unknown): Generator<JsonNode> {
  const stack: JsonNode[] = [{ value: root, path: [], depth: 0, position: 0 }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    yield node;
    const { value, path, depth } = node;
    if (typeof value !== 'object' || value === null) continue;
    // Pushed in reverse, so that children come out in document order.
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        stack.push({ value: value[index], path: [...path, index], depth: depth + 1, position: index });
      }
    } else {
      const keys = Object.keys(value);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        stack.push({
          value: (value as Record<string, unknown>)[key],
          path: [...path, key],
          depth: depth + 1,
          position: index,
        });
      }
    }
  }
}

/** A path as the error details name fields (`model_configuration.a.0`); the root is `(root)`. */
export function fieldName(path: JsonPath): string {
  return path.length === 0 ? '(root)' : path.map((segment) => printable(String(segment))).join('.');
}

/** Control characters and lone surrogates written as JSON escapes, so that a field's name can be shown. */
function printable(text: string): string {
  return /[\u0000-\u001f\ud800-\udfff]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}
