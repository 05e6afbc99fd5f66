import { formatGrubenv, GRUBENV_SIGNATURE, parseGrubenv } from './grubenv.ts';
import { readSlotEnv, SLOTS, writeSlotEnv } from './scheme.ts';
import { selectBoot } from './select.ts';
import type { BootChoice, Slot } from './types.ts';

/** The variables grub-select.cfg loads; everything else in the block is invisible to it. */
const SCRIPT_VARS = ['ORDER', ...SLOTS.flatMap((s) => [`${s}_OK`, `${s}_TRY`, `${s}_LEFT`])];

/**
 * What the simulated bootloader does with an environment block at power-on: the slot it starts, and the
 * block to save first (when a trial was counted down). A well-formed block goes through select.ts. A block
 * the strict reader refuses is still read the way GRUB reads it (grubLoadEnv) and decided the way
 * grub-select.cfg decides (scriptSelect), and is never saved: GRUB rewriting a damaged block in place is
 * not modelled, so the count-down is lost there.
 */
export function bootBlock(block: Uint8Array, where: string): { choice: BootChoice; save?: Buffer } {
  let vars: Map<string, string>;
  try {
    vars = parseGrubenv(block, where);
    const { env, ...choice } = selectBoot(readSlotEnv(vars, where));
    if (choice.kind !== 'trial') return { choice };
    return { choice, save: formatGrubenv(writeSlotEnv(vars, env), where) };
  } catch {
    return { choice: scriptSelect(grubLoadEnv(block, SCRIPT_VARS)).choice };
  }
}

/**
 * GRUB's `load_env` with a whitelist (grub-core/lib/envblk.c, grub_envblk_iterate): nothing without the
 * signature; comment lines skipped; a name runs to the next '=' (even across lines); a value to the next
 * unescaped newline; the first broken entry ends the reading; a later duplicate wins; a value ends at NUL.
 */
export function grubLoadEnv(block: Uint8Array, names: readonly string[]): Map<string, string> {
  const vars = new Map<string, string>();
  const text = Buffer.from(block).toString('latin1');
  if (!text.startsWith(GRUBENV_SIGNATURE)) return vars;
  const end = text.length;
  let p = GRUBENV_SIGNATURE.length;
  while (p < end) {
    if (text[p] !== '#') {
      const eq = text.indexOf('=', p);
      if (eq < 0) break;
      let q = eq + 1;
      let value = '';
      while (q < end && text[q] !== '\n') {
        if (text[q] === '\\') {
          value += text[q + 1] ?? '';
          q += 2;
        } else {
          value += text[q];
          q++;
        }
      }
      if (q >= end) break;
      const name = text.slice(p, eq).split('\0')[0] as string;
      if (names.includes(name)) vars.set(name, value.split('\0')[0] as string);
      p = q;
    }
    while (p < end && text[p] !== '\n') p += text[p] === '\\' ? 2 : 1;
    p++;
  }
  return vars;
}

/**
 * grub-select.cfg, line for line, on the raw strings GRUB holds: the defaults it sets, string comparisons,
 * and the count-down chain. On a well-formed environment it decides as select.ts does (a test checks every
 * combination); this is for the ones that are not. `left` is the count-down it would save.
 */
export function scriptSelect(loaded: ReadonlyMap<string, string>): {
  choice: BootChoice;
  left?: [string, string];
} {
  const v = (name: string, fallback: string): string => loaded.get(name) ?? fallback;
  const order = v('ORDER', 'A B');
  const primary: Slot = /^([AB])/.exec(order)?.[1] === 'B' ? 'B' : 'A';
  for (const word of order.split(/[ \t\n]+/)) {
    if (word !== 'A' && word !== 'B') continue;
    const fellBack = word !== primary;
    if (v(`${word}_OK`, '0') !== '1') continue;
    if (v(`${word}_TRY`, '0') !== '1') return { choice: { slot: word, kind: 'good', fellBack } };
    const left = v(`${word}_LEFT`, '0');
    if (!/^[1-9]$/.test(left)) continue;
    return {
      choice: { slot: word, kind: 'trial', fellBack },
      left: [`${word}_LEFT`, String(Number(left) - 1)],
    };
  }
  return { choice: { slot: primary, kind: 'last-resort', fellBack: false } };
}
