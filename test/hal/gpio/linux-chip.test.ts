/**
 * The contract on a kernel GPIO chip: a gpio-sim device (configfs) laid out as CONTRACT_LINES, driven
 * through its sysfs `pull` attributes and read through `value`. This machine's kernel has no GPIO
 * subsystem, so the file skips here (and in CI); the image's guest, whose kernel has gpio-sim, runs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LinuxGpioDriver } from '../../../hal/gpio/linux.ts';
import type { Level } from '../../../hal/gpio/types.ts';
import { kernelHas } from '../../support/needs.ts';
import { CONTRACT_LINES, gpioContract } from './contract.ts';

const CONFIGFS = '/sys/kernel/config/gpio-sim';

/** One gpio-sim device with one bank; `remove()` tears it down (idempotent). */
class GpioSimChip {
  readonly device = `${CONFIGFS}/tnd-gpio-${process.pid}`;
  readonly bank = `${this.device}/gpio-bank0`;
  readonly chipName: string;
  readonly sysfs: string;

  constructor(names: readonly (string | undefined)[]) {
    mkdirSync(this.device);
    mkdirSync(this.bank);
    writeFileSync(`${this.bank}/num_lines`, String(names.length));
    names.forEach((name, offset) => {
      if (name === undefined) return;
      mkdirSync(`${this.bank}/line${offset}`);
      writeFileSync(`${this.bank}/line${offset}/name`, name);
    });
    writeFileSync(`${this.device}/live`, '1');
    this.chipName = readFileSync(`${this.bank}/chip_name`, 'utf8').trim();
    const devName = readFileSync(`${this.device}/dev_name`, 'utf8').trim();
    this.sysfs = `/sys/devices/platform/${devName}/${this.chipName}`;
  }

  drive(offset: number, level: Level): void {
    writeFileSync(`${this.sysfs}/sim_gpio${offset}/pull`, level === 1 ? 'pull-up' : 'pull-down');
  }

  level(offset: number): Level {
    return readFileSync(`${this.sysfs}/sim_gpio${offset}/value`, 'utf8').trim() === '1' ? 1 : 0;
  }

  remove(): void {
    if (!existsSync(this.device)) return;
    writeFileSync(`${this.device}/live`, '0');
    CONTRACT_LINES.forEach((name, offset) => {
      if (name !== undefined) rmdirSync(`${this.bank}/line${offset}`);
    });
    rmdirSync(this.bank);
    rmdirSync(this.device);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (process.getuid?.() === 0 && !existsSync(CONFIGFS)) spawnSync('modprobe', ['-q', 'gpio-sim']);

if (kernelHas('gpio on a kernel chip', [CONFIGFS])) {
  const sim = new GpioSimChip(CONTRACT_LINES);
  process.on('exit', () => sim.remove());

  gpioContract('linux on a gpio-sim chip', async () => {
    for (let offset = 0; offset < CONTRACT_LINES.length; offset++) sim.drive(offset, 0);
    const driver = new LinuxGpioDriver({ pollIntervalMs: 1 });
    return {
      driver,
      chip: sim.chipName,
      chipName: sim.chipName,
      chipAlias: `/dev/${sim.chipName}`,
      drive: async (offset, level) => sim.drive(offset, level),
      level: async (offset) => sim.level(offset),
      // Real time passes; the margin covers the poll interval and timer lateness.
      wait: (ms) => sleep(ms + 2),
      now: () => driver.clock.now(),
      close: async () => {},
    };
  });

  const teardown = suite('gpio-sim teardown');
  teardown('the simulated chip is removed', () => {
    sim.remove();
    assert.not.ok(existsSync(`/dev/${sim.chipName}`));
  });
  teardown.run();
} else {
  // An empty suite still prints uvu's summary, which the runner reads to count this file as skipped.
  suite('gpio on a kernel chip').run();
}
