import t from 'tap';
import { hashPassword, needsRehash, OWASP_SCRYPT_COST, scryptCost, verifyPassword } from '../../src/domain/password.ts';

t.test('new hashes use OWASP scrypt parameters (N=2^17, r=8, p=1) and store them', async (t) => {
  t.same(OWASP_SCRYPT_COST, { log2N: 17, r: 8, p: 1 }, 'the default cost is the OWASP recommendation');
  const hash = await hashPassword('correct horse battery');
  const [scheme, n, r, p] = hash.split('$');
  t.same([scheme, n, r, p], ['scrypt', '131072', '8', '1'], 'the parameters travel with the hash (128 MiB of memory: maxmem is raised)');
  t.equal(await verifyPassword('correct horse battery', hash), true, 'verifies');
  t.equal(await verifyPassword('correct horse batterY', hash), false, 'refuses a wrong password');
  t.equal(needsRehash(hash), false, 'a current hash needs no upgrade');
});

t.test('older costs verify and ask to be upgraded; tampered parameters are refused', async (t) => {
  const old = await hashPassword('pw-123456', scryptCost(14));
  t.equal(await verifyPassword('pw-123456', old), true, 'an N=2^14 hash (the previous default) still verifies');
  t.equal(needsRehash(old), true, 'and needs an upgrade at the OWASP cost');
  t.equal(needsRehash(old, scryptCost(14)), false, 'but not at its own cost');
  const parts = old.split('$');
  t.equal(await verifyPassword('pw-123456', ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$')), false, 'a stored N of 2^30 is refused, not computed');
  t.equal(await verifyPassword('pw-123456', ['scrypt', '1000', ...parts.slice(2)].join('$')), false, 'an N that is not a power of two is refused');
  t.equal(await verifyPassword('pw-123456', 'plain-text'), false, 'something that is not a scrypt hash never verifies');
});
