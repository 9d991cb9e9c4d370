import t from 'tap';
import {
  DEFAULT_WHITELIST_CONFIG,
  MAX_WHITELIST_ENTRIES,
  validateWhitelistConfig,
  whitelistMatch,
  type WhitelistConfig,
} from '../../../src/domain/rules/whitelist.ts';

const PC = { name: 'desktop PC with PFC', minW: 150, maxW: 450, minPf: 0.95, maxPf: 0.99 };
const CPAP = { name: 'CPAP machine', minW: 30, maxW: 90, minPf: 0.5, maxPf: 1 };
const LIST: WhitelistConfig = [PC, CPAP];

t.test('band edges are inclusive on all four sides', async (t) => {
  const rows: ReadonlyArray<[number, number, string | null]> = [
    [150, 0.95, PC.name],
    [450, 0.99, PC.name],
    [300, 0.97, PC.name],
    [149.9, 0.97, null],
    [450.1, 0.97, null],
    [300, 0.9499, null],
    [300, 0.9901, null],
    [30, 1, CPAP.name],
    [90, 0.5, CPAP.name],
    [29.9, 0.8, null],
    [1800, 1, null],
  ];
  for (const [incrementW, pf, expected] of rows) {
    t.equal(whitelistMatch(LIST, incrementW, pf)?.name ?? null, expected, `${incrementW} W at PF ${pf}`);
  }
  t.equal(whitelistMatch(DEFAULT_WHITELIST_CONFIG, 300, 0.97), null, 'the default whitelist is empty');
});

t.test('the first matching entry wins', async (t) => {
  const overlapping = [CPAP, { ...CPAP, name: 'second' }];
  t.equal(whitelistMatch(overlapping, 50, 0.9)?.name, CPAP.name);
});

t.test('validateWhitelistConfig', async (t) => {
  const ok = validateWhitelistConfig(LIST);
  t.ok(ok.ok && ok.config.length === 2 && Object.isFrozen(ok.config[0]));
  t.ok(validateWhitelistConfig([]).ok);
  const point = validateWhitelistConfig([{ name: 'exact', minW: 100, maxW: 100, minPf: 1, maxPf: 1 }]);
  t.ok(point.ok, 'a band may be a single point');
  const tooMany = Array.from({ length: MAX_WHITELIST_ENTRIES + 1 }, (_, i) => ({ ...PC, name: `pc ${i}` }));
  const rows: ReadonlyArray<[unknown, string]> = [
    [{}, ''],
    [tooMany, ''],
    [[{ ...PC, name: '' }], '[0].name'],
    [[PC, { ...PC, minW: -1 }], '[1].minW'],
    [[{ ...PC, maxW: 100 }], '[0].maxW'],
    [[{ ...PC, maxPf: 1.01 }], '[0].maxPf'],
    [[{ ...PC, minPf: 0.995 }], '[0].maxPf'],
    [[{ ...PC, colour: 'red' }], '[0].colour'],
    [[{ name: 'x', minW: 1, maxW: 2, minPf: 0 }], '[0].maxPf'],
  ];
  for (const [input, field] of rows) {
    const result = validateWhitelistConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input).slice(0, 80));
  }
});
