/**
 * Control characters in text from an edge (a NUL cannot even be stored in a PostgreSQL text
 * column). C0 controls other than TAB, LF and CR, DEL, and the C1 controls.
 */
const CONTROL_CLASS = '[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]';
const CONTROL_CHARACTER = new RegExp(CONTROL_CLASS);
const CONTROL_CHARACTERS = new RegExp(CONTROL_CLASS, 'g');

/** Index of the first control character, or -1. */
export function controlCharacterIndex(text: string): number {
  const match = CONTROL_CHARACTER.exec(text);
  return match ? match.index : -1;
}

/** The text with each control character written as `\uXXXX`: safe to store and to log. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
