/** Where a script's CLI writes, so that tests can run the command as a function and read what it said. */
export interface CommandOutput {
  log(line: string): void;
  error(line: string): void;
}

export const consoleOutput: CommandOutput = {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
};
