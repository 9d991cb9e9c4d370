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

// ---- Finding them in request input (path ids, query values, JSON bodies), with the path ----

/** Every C0 control, DEL and every C1 control (matching them is the point). */
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
/** The same, less tab, line feed and carriage return. */
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_LINE_BREAKS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;

export interface ControlCharacterFound {
  /** Dotted path of the value, e.g. `reason`, `config.nights.monday` or `tags.2`. */
  readonly field: string;
  /** The offending character as `U+0000`. */
  readonly character: string;
}

export interface ControlCharacterOptions {
  /** Let tab, LF and CR through in string values (never in keys). */
  readonly allowLineBreaks: boolean;
}

const describe = (match: RegExpExecArray): string => `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The first control character in a value (a string, or any JSON value: keys and strings at
 * every depth), with the path to it; undefined when there is none. Iterative, so a deeply
 * nested document cannot exhaust the stack.
 */
export function findControlCharacter(value: unknown, root: string, options: ControlCharacterOptions): ControlCharacterFound | undefined {
  const valuePattern = options.allowLineBreaks ? CONTROL_EXCEPT_LINE_BREAKS : ANY_CONTROL;
  // Paths are linked lists, joined only for the answer: a deep document costs no quadratic strings.
  const pending: [unknown, PathNode][] = [[value, { key: root, parent: undefined }]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      const match = valuePattern.exec(current);
      if (match) return { field: render(path), character: describe(match) };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push([current[i], { key: String(i), parent: path }]);
    } else if (typeof current === 'object' && current !== null) {
      for (const [key, child] of Object.entries(current)) {
        const match = ANY_CONTROL.exec(key);
        if (match) return { field: render({ key, parent: path }), character: describe(match) };
        pending.push([child, { key, parent: path }]);
      }
    }
  }
  return undefined;
}

interface PathNode {
  readonly key: string;
  readonly parent: PathNode | undefined;
}

function render(node: PathNode): string {
  const keys: string[] = [];
  for (let at: PathNode | undefined = node; at; at = at.parent) if (at.key) keys.push(at.key);
  return keys.reverse().join('.');
}

/** True when the text holds any control character (for single values: ids, usernames, topics). */
export const hasControlCharacter = (text: string): boolean => ANY_CONTROL.test(text);
