import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type PtyPair, startPtyPair } from '../../../board/sim/testbed/socat.ts';
import { LinuxClock } from '../../../hal/clock/linux.ts';
import { HalError } from '../../../hal/errors.ts';
import { LinuxSerialDriver } from '../../../hal/serial/linux.ts';
import { rejects, withCode } from '../../support/assert.ts';
import { canRun } from '../../support/needs.ts';
import { serialContract } from './contract.ts';

interface Ptys {
  dir: string;
  pty: PtyPair;
}

async function startPtys(): Promise<Ptys> {
  const dir = await mkdtemp(join(tmpdir(), 'tnd-serial-'));
  try {
    return { dir, pty: await startPtyPair({ dir }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function stopPtys({ dir, pty }: Ptys): Promise<void> {
  await pty.close();
  await rm(dir, { recursive: true, force: true });
}

if (canRun('serial on ptys', { tools: ['socat'] })) {
  serialContract('LinuxSerialDriver on a socat pty pair', async () => {
    const ptys = await startPtys();
    return {
      driver: new LinuxSerialDriver(),
      pathA: ptys.pty.linkA,
      pathB: ptys.pty.linkB,
      missingPath: join(ptys.dir, 'no-such-port'),
      clock: new LinuxClock(),
      dispose: () => stopPtys(ptys),
    };
  });

  // ---

  const linux = suite<{ ptys: Ptys; driver: LinuxSerialDriver }>('LinuxSerialDriver specifics');

  linux.before.each(async (ctx) => {
    ctx.ptys = await startPtys();
    ctx.driver = new LinuxSerialDriver();
  });

  linux.after.each(async (ctx) => {
    await stopPtys(ctx.ptys);
  });

  linux('the device under its other name is already open: HAL_BUSY naming both', async ({ ptys, driver }) => {
    const port = await driver.open(ptys.pty.linkA, { baudRate: 9600 });
    try {
      const err = await rejects(driver.open(ptys.pty.deviceA, { baudRate: 9600 }), withCode('HAL_BUSY'));
      const named = err instanceof HalError && err.message.includes(ptys.pty.deviceA);
      assert.ok(named && err.message.includes(ptys.pty.linkA), String(err));
    } finally {
      await port.close();
    }
  });

  linux(
    'a port locked by another driver instance (another process) is HAL_BUSY',
    async ({ ptys, driver }) => {
      const port = await driver.open(ptys.pty.linkA, { baudRate: 9600 });
      try {
        const err = await rejects(
          new LinuxSerialDriver().open(ptys.pty.linkA, { baudRate: 9600 }),
          withCode('HAL_BUSY'),
        );
        assert.ok(err instanceof HalError && err.message.includes(ptys.pty.linkA), String(err));
      } finally {
        await port.close();
      }
    },
  );

  linux('a regular file is not a serial port: HAL_INVALID_ARGUMENT naming it', async ({ ptys, driver }) => {
    const file = join(ptys.dir, 'not-a-tty');
    await writeFile(file, 'x');
    const err = await rejects(driver.open(file, { baudRate: 9600 }), withCode('HAL_INVALID_ARGUMENT'));
    assert.ok(err instanceof HalError && err.message.includes(file), String(err));
  });

  linux('nothing written before open is read after it', async ({ ptys, driver }) => {
    const a = await driver.open(ptys.pty.linkA, { baudRate: 115200 });
    await a.write(Buffer.from('before'));
    await a.drain();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const b = await driver.open(ptys.pty.linkB, { baudRate: 115200 });
    try {
      await a.write(Buffer.from('after'));
      const got = await b.read();
      assert.ok(got.toString().startsWith('a'), `read ${JSON.stringify(got.toString())}`);
    } finally {
      await b.close();
      await a.close();
    }
  });

  linux('list() finds ports with /dev paths (udev, or sysfs without it)', async ({ driver }) => {
    const ports = await driver.list();
    assert.ok(Array.isArray(ports));
    for (const port of ports) assert.match(port.path, /^\/dev\//);
  });

  linux.run();
}
