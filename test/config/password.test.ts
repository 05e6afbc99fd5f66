import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../firmware/config/errors.ts';
import { hashPassword, isPasswordHash, parseHash, verifyPassword } from '../../firmware/config/password.ts';
import { rejects, withCode } from '../support/assert.ts';

/** Cheap scrypt parameters so the suite stays fast; the format carries them, so verify needs nothing else. */
const params = { ln: 10, r: 8, p: 1 };
const fixedSalt = (n: number): Buffer => Buffer.alloc(n, 7);

const hashing = suite('password hashing: scrypt in a PHC string');

hashing('a hash carries its parameters and verifies only its own password', async () => {
  const hash = await hashPassword('correct horse', { params });
  assert.match(hash, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.ok(await verifyPassword('correct horse', hash));
  assert.not.ok(await verifyPassword('correct horsE', hash));
  assert.not.ok(await verifyPassword('', hash));
});

hashing('each hash gets a fresh salt; the same salt gives the same hash', async () => {
  const a = await hashPassword('pw-12345', { params });
  const b = await hashPassword('pw-12345', { params });
  assert.is.not(a, b);
  const c = await hashPassword('pw-12345', { params, randomBytes: fixedSalt });
  const d = await hashPassword('pw-12345', { params, randomBytes: fixedSalt });
  assert.is(c, d);
});

hashing('Unicode passwords are normalised (NFC) before hashing', async () => {
  const hash = await hashPassword('caf\u00e9-pass', { params });
  assert.ok(await verifyPassword('cafe\u0301-pass', hash));
});

hashing('an empty password or out-of-range cost is refused', async () => {
  await rejects(hashPassword('', { params }), withCode('CONFIG_BAD_ARGUMENT'));
  await rejects(hashPassword('x', { params: { ln: 30, r: 8, p: 1 } }), withCode('CONFIG_BAD_HASH'));
});

hashing.run();

// ---

const parsing = suite('password hashing: stored hashes are checked before use');

parsing('parseHash reads the parameters, salt and key', async () => {
  const parsed = parseHash(await hashPassword('pw-12345', { params, randomBytes: fixedSalt }));
  assert.equal(parsed.params, params);
  assert.equal(parsed.salt, fixedSalt(16));
  assert.is(parsed.hash.length, 32);
});

parsing('malformed hashes are CONFIG_BAD_HASH, without echoing the hash', async () => {
  for (const bad of [
    '',
    'plain',
    '$scrypt$ln=15,r=8,p=1$c2FsdA$',
    '$bcrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAA',
  ]) {
    assert.throws(
      () => parseHash(bad),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_BAD_HASH',
    );
    assert.not.ok(isPasswordHash(bad));
  }
  await rejects(
    verifyPassword('x', '$scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
    withCode('CONFIG_BAD_HASH'),
  );
});

parsing.run();
