import { HalError } from '../errors.ts';
import type { Slot } from './types.ts';

/** The kernel parameter the bootloader passes to say which slot it started (`tandem.slot=A`). */
export const CMDLINE_KEY = 'tandem.slot';

/**
 * The booted slot named on a kernel command line. The last `tandem.slot=` wins, as later parameters do.
 * HAL_NOT_FOUND when there is none, HAL_IO when its value is not A or B; `where` names the source.
 */
export function bootedSlot(cmdline: string, where: string): Slot {
  let value: string | undefined;
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word.startsWith(`${CMDLINE_KEY}=`))
      value = word.slice(CMDLINE_KEY.length + 1).replace(/^"(.*)"$/, '$1');
  }
  if (value === undefined) {
    throw new HalError(
      'HAL_NOT_FOUND',
      `${where} has no ${CMDLINE_KEY}=: the bootloader did not say which slot it started`,
      {
        device: where,
      },
    );
  }
  if (value !== 'A' && value !== 'B') {
    throw new HalError(
      'HAL_IO',
      `${where} says ${CMDLINE_KEY}=${JSON.stringify(value)}, which is not A or B`,
      {
        device: where,
      },
    );
  }
  return value;
}
