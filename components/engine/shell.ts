/**
 * Quoting for the shell commands that @pulumi/command runs. Values never go into the command text
 * unquoted: everything that comes from config is either quoted here or passed as an environment variable
 * / stdin, so a prompt or a path full of quotes and `$(...)` runs nothing.
 */

/** POSIX single-quote quoting: the result is one word whatever the input holds. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}
