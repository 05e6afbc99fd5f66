import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BoardError } from '../../board/errors.ts';
import { BUILTIN_BOARDS, builtinBoard, loadBoardFile, parseBoard } from '../../board/load.ts';
import { tandem1u } from '../../board/tandem-1u.ts';

const boardError = (field: string, text: RegExp) => (err: unknown) =>
  err instanceof BoardError && err.field === field && text.test(err.message);

const builtin = suite('built-in boards');

builtin('every built-in board validates', () => {
  for (const name of BUILTIN_BOARDS) {
    const board = builtinBoard(name, { prefix: 'tnd', node: 'a' });
    assert.is(board.name, name);
  }
});

builtin('the sim board binds roles to the testbed of its prefix and node', () => {
  const a = builtinBoard('sim', { prefix: 'tnd-t42', node: 'a' });
  const b = builtinBoard('sim', { prefix: 'tnd-t42', node: 'b' });
  assert.is(a.serial.heartbeat.path, '/run/tandem-sim/tnd-t42/serial-a');
  assert.is(b.serial.heartbeat.path, '/run/tandem-sim/tnd-t42/serial-b');
  assert.is(a.netns, 'tnd-t42-a');
  assert.is(a.gpio.driver, 'sim');
  assert.is.not(a.storage.journalPath, b.storage.journalPath);
  assert.equal(a.gpio.leds, tandem1u.gpio.leds, 'the sim panel uses the 1U pin map');
});

builtin('an unknown board name, and sim without a testbed, are refused', () => {
  assert.throws(
    () => builtinBoard('tandem-2u'),
    (e: unknown) => e instanceof BoardError && /tandem-2u/.test(e.message),
  );
  assert.throws(
    () => builtinBoard('sim'),
    (e: unknown) => e instanceof BoardError && /prefix/.test(e.message),
  );
});

builtin.run();

// ---

const invalid = suite('invalid board fields');

const withChange = (change: (b: Record<string, unknown>) => void): unknown => {
  const copy = structuredClone(tandem1u) as unknown as Record<string, unknown>;
  change(copy);
  return copy;
};

invalid('a negative GPIO line names its field and the value', () => {
  const bad = withChange((b) => {
    (b.gpio as { leds: { active: { line: number } } }).leds.active.line = -1;
  });
  assert.throws(() => parseBoard(bad, 'test'), boardError('gpio.leds.active.line', /got -1/));
});

invalid('two roles on one GPIO line are refused', () => {
  const bad = withChange((b) => {
    (b.gpio as { buttons: { reset: { line: number } } }).buttons.reset.line = 8;
  });
  assert.throws(
    () => parseBoard(bad, 'test'),
    boardError('gpio.buttons.reset', /already used by gpio.buttons.failover/),
  );
});

invalid('a non-standard baud rate, a relative path and an unknown field are refused', () => {
  const baud = withChange((b) => {
    (b.serial as { heartbeat: { baudRate: number } }).heartbeat.baudRate = 12345;
  });
  assert.throws(() => parseBoard(baud, 'test'), boardError('serial.heartbeat.baudRate', /baud/));
  const path = withChange((b) => {
    (b.watchdog as { device: string }).device = 'dev/watchdog';
  });
  assert.throws(() => parseBoard(path, 'test'), boardError('watchdog.device', /absolute/));
  const extra = withChange((b) => {
    b.colour = 'blue';
  });
  assert.throws(
    () => parseBoard(extra, 'test'),
    (e: unknown) => e instanceof BoardError && /colour/.test(e.message),
  );
});

invalid('an over-long interface name and a NIC shared by two roles are refused', () => {
  const long = withChange((b) => {
    (b.nics as { client: string }).client = 'a-very-long-ifname';
  });
  assert.throws(() => parseBoard(long, 'test'), boardError('nics.client', /15/));
  const shared = withChange((b) => {
    (b.nics as { server: string }).server = 'client0';
  });
  assert.throws(() => parseBoard(shared, 'test'), boardError('nics', /own interface/));
});

invalid.run();

// ---

const files = suite('board files');
const dir = mkdtempSync(join(tmpdir(), 'tandem-board-'));
files.after(() => rmSync(dir, { recursive: true, force: true }));

files('a valid JSON board file loads', () => {
  const path = join(dir, 'ok.json');
  writeFileSync(path, JSON.stringify(tandem1u));
  assert.equal(loadBoardFile(path), tandem1u);
});

files('a missing file, bad JSON and a bad field each say what is wrong and where', () => {
  assert.throws(
    () => loadBoardFile(join(dir, 'missing.json')),
    (e: unknown) =>
      e instanceof BoardError && e.code === 'BOARD_NOT_FOUND' && e.message.includes('missing.json'),
  );
  const garbled = join(dir, 'garbled.json');
  writeFileSync(garbled, '{ "name": ');
  assert.throws(
    () => loadBoardFile(garbled),
    (e: unknown) => e instanceof BoardError && e.code === 'BOARD_UNREADABLE',
  );
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...tandem1u, clock: 'atomic' }));
  assert.throws(
    () => loadBoardFile(bad),
    (e: unknown) =>
      e instanceof BoardError && e.field === 'clock' && e.message.includes(bad) && /atomic/.test(e.message),
  );
});

files.run();
