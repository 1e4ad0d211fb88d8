/**
 * Text for a human on a terminal, with every control character written out visibly (`\x1b`,
 * `\x07`, `\x00`, `\n`): references, names and paths in messages come from input, and an
 * escape sequence in one (a reference with %1b) must not move the cursor, retitle the window
 * or hide a line. Every human message (errors, warnings, --explain) passes through here, one
 * line at a time; the line breaks keyflow puts between lines are its own. Data on stdout (a
 * secret's value) never does: it is the program's to interpret.
 */

// C0 controls but tab, DEL, and the C1 controls (a terminal takes \x9b as ESC [).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g

export function escapeControls(line: string): string {
  return line.replaceAll(CONTROL, (char) => String.raw`\x` + char.codePointAt(0)!.toString(16).padStart(2, '0'))
}

/** Lines for a human, each escaped, joined and ended by newlines. */
export function humanLines(lines: string[]): string {
  return lines.map((line) => escapeControls(line)).join('\n') + '\n'
}
