/**
 * What the CLI prints: results on stdout (a table or `key: value` lines for people, one JSON document with
 * --json for scripts), everything else (progress, retries, hints) on stderr, so that `--json | jq` always parses.
 */
export interface Output {
  json: boolean;
  /** A result on stdout. */
  write(text: string): void;
  /** A line on stderr. */
  log(line: string): void;
}

export function consoleOutput(json: boolean): Output {
  return {
    json,
    write: (text) => void process.stdout.write(text),
    log: (line) => void process.stderr.write(`${line}\n`),
  };
}

export function printJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
}

function cell(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

export function printTable<T>(out: Output, rows: T[], columns: Array<Column<T>>): void {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row))));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => (line[index] ?? '').length)));
  const format = (line: string[]) => line.map((text, index) => text.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
  out.write(`${[format(columns.map((column) => column.header.toUpperCase())), ...cells.map(format)].join('\n')}\n`);
}

export function printFields(out: Output, fields: Array<[string, string | number | boolean | null | undefined]>): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  out.write(fields.map(([name, value]) => `${`${name}:`.padEnd(width + 2)}${cell(value)}`).join('\n') + '\n');
}

/** The result: as JSON with --json, else in the human form. */
export function printResult<T>(out: Output, value: T, human: (value: T) => void): void {
  if (out.json) printJson(out, value);
  else human(value);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
