import t from 'tap';
import { findControlCharacter, hasControlCharacter } from '../../src/domain/control-characters.ts';

t.test('control characters are found with the path to them', async (t) => {
  const strict = { allowLineBreaks: false };
  const text = { allowLineBreaks: true };
  const cases: [string, unknown, { allowLineBreaks: boolean }, ReturnType<typeof findControlCharacter>][] = [
    ['a clean string', 'A-101', strict, undefined],
    ['unicode is not a control character', '宿舍 😀 é', strict, undefined],
    ['NUL', 'a\u0000b', strict, { field: 'id', character: 'U+0000' }],
    ['ESC', '\u001b[2J', strict, { field: 'id', character: 'U+001B' }],
    ['DEL', 'x\u007f', strict, { field: 'id', character: 'U+007F' }],
    ['a C1 control (NEL)', 'x\u0085', strict, { field: 'id', character: 'U+0085' }],
    ['a line break in a query value', 'a\nb', strict, { field: 'id', character: 'U+000A' }],
    ['a line break in body text is allowed', { reason: 'line one\r\nline two\tend' }, text, undefined],
    ['NUL in body text is not', { reason: 'ok', nested: { list: ['fine', 'bad\u0000'] } }, text, { field: 'nested.list.1', character: 'U+0000' }],
    ['a control character in a key', { 'ke\u0000y': 1 }, text, { field: 'ke\u0000y', character: 'U+0000' }],
    ['a line break in a key', { 'a\nb': 1 }, text, { field: 'a\nb', character: 'U+000A' }],
    ['numbers, booleans and null', { a: 1, b: true, c: null }, strict, undefined],
  ];
  for (const [name, value, options, expected] of cases) {
    const root = typeof value === 'string' ? 'id' : '';
    t.same(findControlCharacter(value, root, options), expected, name);
  }
  t.equal(hasControlCharacter('GW-1'), false, 'a plain id has none');
  t.equal(hasControlCharacter('GW\u00001'), true, 'a NUL is one');
});

t.test('a deeply nested document does not exhaust the stack', async (t) => {
  let deep: unknown = 'x\u0000';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  const found = findControlCharacter(deep, '', { allowLineBreaks: true });
  t.equal(found?.character, 'U+0000', 'found at depth 100,000');
  t.equal(found?.field.split('.').length, 100_000, 'with its full path');
});
