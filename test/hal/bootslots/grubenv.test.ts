import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatGrubenv, GRUBENV_SIGNATURE, parseGrubenv } from '../../../hal/bootslots/grubenv.ts';
import { HalError } from '../../../hal/errors.ts';

const block = (body: string): Buffer => {
  const text = GRUBENV_SIGNATURE + body;
  return Buffer.from(text + '#'.repeat(1024 - text.length), 'latin1');
};
const isCode = (code: string) => (e: unknown) => HalError.is(e, code as HalError['code']);

const parse = suite('parseGrubenv');

parse('reads name=value lines in order, skipping comments, unescaping backslashes', () => {
  const vars = parseGrubenv(block('# a comment\nORDER=A B\nx=a\\\\b\\\nc\ny=\n'), 'test');
  assert.equal(
    [...vars],
    [
      ['ORDER', 'A B'],
      ['x', 'a\\b\nc'],
      ['y', ''],
    ],
  );
});

parse('an empty block (grub-editenv create) has no variables', () => {
  assert.equal([...parseGrubenv(block(''), 'test')], []);
});

parse('refuses what GRUB would half-read, with HAL_IO naming the file and the fault', () => {
  const bad: [string, Buffer, RegExp][] = [
    ['short', block('').subarray(0, 1000), /1000 bytes/],
    ['no signature', Buffer.alloc(1024, 0x23), /does not start with/],
    ['NUL', block('a=b\0\n'), /NUL byte/],
    [
      'junk in the padding',
      Buffer.from(block('a=b\n').toString('latin1').replace(/#{3}$/, '#x#'), 'latin1'),
      /padding/,
    ],
    ['no =', block('ab\n'), /not name=value/],
    ['bad name', block('a-b=1\n'), /bad variable name/],
    ['duplicate', block('a=1\na=2\n'), /set twice/],
    [
      'unterminated',
      Buffer.from(`${GRUBENV_SIGNATURE}a=${'x'.repeat(1024 - GRUBENV_SIGNATURE.length - 2)}`, 'latin1'),
      /runs off/,
    ],
  ];
  for (const [what, bytes, message] of bad) {
    assert.throws(() => parseGrubenv(bytes, '/boot/grub/grubenv'), isCode('HAL_IO'), what);
    try {
      parseGrubenv(bytes, '/boot/grub/grubenv');
      assert.unreachable(what);
    } catch (err) {
      assert.match(String(err), message, what);
      assert.match(String(err), /\/boot\/grub\/grubenv/, what);
    }
  }
});

parse.run();

// ---

const format = suite('formatGrubenv');

format('writes 1024 bytes that parse back to the same variables', () => {
  const vars = new Map([
    ['ORDER', 'B A'],
    ['weird', 'back\\slash\nnew line é'],
  ]);
  const out = formatGrubenv(vars, 'test');
  assert.is(out.length, 1024);
  assert.ok(
    out.toString('latin1').startsWith(`${GRUBENV_SIGNATURE}ORDER=B A\nweird=back\\\\slash\\\nnew line`),
  );
  assert.equal([...parseGrubenv(out, 'test')], [...vars]);
});

format('refuses bad names, bytes GRUB cannot hold, and overflow with HAL_INVALID_ARGUMENT', () => {
  const refuse = (vars: Map<string, string>): void => {
    assert.throws(() => formatGrubenv(vars, 'test'), isCode('HAL_INVALID_ARGUMENT'));
  };
  refuse(new Map([['a b', '1']]));
  refuse(new Map([['a', 'nul\0']]));
  refuse(new Map([['a', 'snow ☃']]));
  refuse(new Map([['a', 'x'.repeat(1000)]]));
});

format.run();
