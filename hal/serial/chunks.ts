import { HalError } from '../errors.ts';
import type { SerialPort, WaitOptions } from './types.ts';

/** SerialPort.chunks() for both drivers: read() in a loop until the port closes. */
export async function* readChunks(port: SerialPort, options: WaitOptions): AsyncGenerator<Buffer> {
  for (;;) {
    let chunk: Buffer;
    try {
      chunk = await port.read(options);
    } catch (err) {
      const closedUnderUs =
        HalError.is(err, 'HAL_CLOSED') || (HalError.is(err, 'HAL_CANCELED') && !port.isOpen);
      if (closedUnderUs) return;
      throw err;
    }
    yield chunk;
  }
}
