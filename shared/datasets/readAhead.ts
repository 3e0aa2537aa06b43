/**
 * Results of `read` over the items, in the items' order, with up to `window` reads in flight: the reads of the next
 * items run while the current one is used. Items may come from an async source (pages of a query), which is read
 * only as far as the window needs.
 */
export async function* readAhead<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  window: number,
  read: (item: T) => Promise<R>,
): AsyncGenerator<[T, R]> {
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const pending: Array<Promise<[T, R]>> = [];
  let exhausted = false;
  const fill = async () => {
    while (!exhausted && pending.length < window) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const item = next.value;
      const result = read(item).then((value): [T, R] => [item, value]);
      // A read that fails before its turn is awaited (and thrown) in its turn; until then it is not unhandled.
      result.catch(() => undefined);
      pending.push(result);
    }
  };
  try {
    await fill();
    while (pending.length > 0) {
      yield await (pending.shift() as Promise<[T, R]>);
      await fill();
    }
  } finally {
    if (!exhausted) await iterator.return?.();
  }
}
