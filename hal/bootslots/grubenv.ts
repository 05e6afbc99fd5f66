import { HalError } from '../errors.ts';

/**
 * The GRUB environment block (grub-core/lib/envblk.c, the file `grub-editenv` and GRUB's load_env/save_env
 * use): exactly 1024 bytes, the signature line, then `name=value` lines (a backslash escapes the next byte,
 * so values may hold '\' and newlines), lines starting with '#' are comments, and the unused tail is '#'
 * padding. GRUB itself skips what it cannot parse; this reader is stricter and refuses the whole block, so a
 * damaged environment is reported instead of half-read.
 */
export const GRUBENV_SIZE = 1024;
export const GRUBENV_SIGNATURE = '# GRUB Environment Block\n';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const corrupt = (where: string, what: string): HalError =>
  new HalError('HAL_IO', `GRUB environment ${where} is corrupt: ${what}`, { device: where });

/** The variables of a block, in file order. `where` names the block in errors. */
export function parseGrubenv(block: Uint8Array, where: string): Map<string, string> {
  if (block.length !== GRUBENV_SIZE) {
    throw corrupt(where, `it is ${block.length} bytes, a GRUB environment block is ${GRUBENV_SIZE}`);
  }
  // latin1 maps bytes 1:1, so lengths and offsets are byte counts and foreign values survive a rewrite.
  const text = Buffer.from(block).toString('latin1');
  if (!text.startsWith(GRUBENV_SIGNATURE)) {
    throw corrupt(where, `it does not start with "${GRUBENV_SIGNATURE.trim()}"`);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) throw corrupt(where, `NUL byte at offset ${nul}`);
  const vars = new Map<string, string>();
  let p = GRUBENV_SIGNATURE.length;
  while (p < text.length) {
    const eol = text.indexOf('\n', p);
    if (text[p] === '#') {
      if (eol < 0) {
        const junk = text.slice(p).search(/[^#]/);
        if (junk >= 0)
          throw corrupt(where, `byte ${JSON.stringify(text[p + junk])} in the padding at offset ${p + junk}`);
        break;
      }
      p = eol + 1;
      continue;
    }
    const eq = text.indexOf('=', p);
    if (eq < 0 || (eol >= 0 && eol < eq)) {
      throw corrupt(where, `"${text.slice(p, eol < 0 ? p + 40 : eol)}" at offset ${p} is not name=value`);
    }
    const name = text.slice(p, eq);
    if (!NAME.test(name)) throw corrupt(where, `bad variable name ${JSON.stringify(name)} at offset ${p}`);
    let value = '';
    let q = eq + 1;
    for (;;) {
      const c = text[q];
      if (c === undefined || (c === '\\' && q + 1 >= text.length)) {
        throw corrupt(where, `the value of ${name} runs off the end of the block`);
      }
      if (c === '\n') break;
      if (c === '\\') {
        value += text[q + 1];
        q += 2;
      } else {
        value += c;
        q++;
      }
    }
    if (vars.has(name)) throw corrupt(where, `${name} is set twice`);
    vars.set(name, value);
    p = q + 1;
  }
  return vars;
}

/** A block holding `vars` in iteration order. HAL_INVALID_ARGUMENT for a bad name or when they do not fit. */
export function formatGrubenv(vars: ReadonlyMap<string, string>, where: string): Buffer {
  let text = GRUBENV_SIGNATURE;
  for (const [name, value] of vars) {
    if (!NAME.test(name)) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `GRUB environment ${where}: bad variable name ${JSON.stringify(name)}`,
        {
          device: where,
        },
      );
    }
    if (value.includes('\0') || Buffer.from(value, 'latin1').toString('latin1') !== value) {
      throw new HalError(
        'HAL_INVALID_ARGUMENT',
        `GRUB environment ${where}: the value of ${name} must be bytes 1-255 (latin1 text), got ${JSON.stringify(value)}`,
        { device: where },
      );
    }
    text += `${name}=${value.replace(/[\\\n]/g, (c) => `\\${c}`)}\n`;
  }
  const used = Buffer.byteLength(text, 'latin1');
  if (used > GRUBENV_SIZE) {
    throw new HalError(
      'HAL_INVALID_ARGUMENT',
      `GRUB environment ${where}: the variables take ${used} bytes, more than the ${GRUBENV_SIZE}-byte block`,
      { device: where },
    );
  }
  return Buffer.from(text + '#'.repeat(GRUBENV_SIZE - used), 'latin1');
}
