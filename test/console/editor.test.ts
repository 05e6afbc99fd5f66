import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type EditorAssist,
  type EditorOptions,
  type FeedResult,
  LineEditor,
} from '../../firmware/console/editor.ts';
import { Screen } from './support/screen.ts';
import { KEYS } from './support/terminal.ts';

interface Rig {
  editor: LineEditor;
  screen: Screen;
  type(keys: string | Uint8Array): FeedResult;
  start(prompt?: string, options?: { echo?: boolean; history?: boolean }): void;
}

const assist: EditorAssist = {
  complete: (before) => {
    const words = before.split(' ');
    const last = words.at(-1) ?? '';
    const from = before.length - last.length;
    const candidates =
      words.length === 1 ? ['show', 'set', 'shutdown', 'configure'] : ['version', 'services', 'servers'];
    return { from, candidates };
  },
  help: (before) => [`  help for "${before}"`],
};

function rig(options: EditorOptions = {}, first = true): Rig {
  const editor = new LineEditor({ assist, ...options });
  const screen = new Screen();
  const r: Rig = {
    editor,
    screen,
    type: (keys) => {
      const result = editor.feed(typeof keys === 'string' ? Buffer.from(keys, 'utf8') : keys);
      screen.feed(result.output);
      return result;
    },
    start: (prompt = '> ', opts = {}) => screen.feed(editor.start(prompt, opts)),
  };
  if (first) r.start();
  return r;
}

const line = (r: FeedResult): string | undefined => (r.event?.type === 'line' ? r.event.text : undefined);

const editing = suite('LineEditor: editing one line');

editing('typed characters are echoed and Enter completes the line', () => {
  const r = rig();
  assert.is(r.type('show').event, undefined);
  assert.is(r.screen.cursorLine(), '> show');
  const done = r.type('\r');
  assert.is(line(done), 'show');
  assert.equal(r.screen.lines(), ['> show', '']);
});

editing('cursor movement, insertion in the middle, delete and backspace', () => {
  const r = rig();
  r.type(`shw${KEYS.left}o${KEYS.end} vx${KEYS.backspace}ersion${KEYS.home}${KEYS.delete}S`);
  assert.is(r.screen.cursorLine(), '> Show version');
  assert.is(r.screen.col, 3, 'the cursor is after the inserted S');
  assert.is(line(r.type('\r')), 'Show version');
});

editing('ctrl-a, ctrl-e, ctrl-u, ctrl-k, ctrl-w', () => {
  const r = rig();
  r.type(`set service web${KEYS.ctrlW}`);
  assert.is(r.screen.cursorLine(), '> set service ');
  r.type(`${KEYS.ctrlA}x${KEYS.ctrlE}y`);
  assert.is(r.screen.cursorLine(), '> xset service y');
  r.type(`${KEYS.left}${KEYS.left}${KEYS.ctrlK}`);
  assert.is(r.screen.cursorLine(), '> xset service');
  r.type(`${KEYS.left}${KEYS.ctrlU}`);
  assert.is(r.screen.cursorLine(), '> e');
});

editing('ctrl-c abandons the line; ctrl-d is delete, or end of input on an empty line', () => {
  const r = rig();
  const c = r.type('half typed\x03more');
  assert.equal(c.event, { type: 'interrupt' });
  assert.is(Buffer.from(c.rest).toString(), 'more', 'bytes after the event are handed back');
  r.start();
  r.type(`ab${KEYS.home}${KEYS.ctrlD}`);
  assert.is(r.screen.cursorLine(), '> b');
  r.type(`${KEYS.ctrlD}`);
  const eof = r.type(KEYS.ctrlD);
  assert.equal(eof.event, { type: 'eof' });
});

editing('a whole line per event: the rest waits for the next start', () => {
  const r = rig();
  const first = r.type('one\rtwo\r');
  assert.is(line(first), 'one');
  assert.is(r.editor.feed(Buffer.from('ignored')).rest.length, 7, 'not editing: nothing is consumed');
  r.start();
  assert.is(line(r.type(first.rest)), 'two');
});

editing('UTF-8 characters are kept whole; backspace removes a whole character', () => {
  const r = rig();
  r.type('café 😀');
  r.type(KEYS.backspace);
  assert.is(r.screen.cursorLine(), '> café ');
  assert.is(line(r.type(`${KEYS.backspace}${KEYS.backspace}e\r`)), 'cafe');
});

editing('binary garbage between keys is ignored', () => {
  const r = rig();
  r.type(Buffer.from([0x73, 0x00, 0x1a, 0x80, 0xff, 0x68, 0x1b, 0x5b, 0x39, 0x39, 0x5a, 0x6f, 0x77]));
  assert.is(line(r.type('\r')), 'show');
});

editing('ctrl-l clears the screen and redraws the line', () => {
  const r = rig();
  r.type('show');
  r.type(KEYS.ctrlL);
  assert.equal(r.screen.visible(), ['> show']);
});

editing.run();

// ---

const passwords = suite('LineEditor: no echo');

passwords('nothing typed is drawn, and the line is not kept in history', () => {
  const r = rig({}, false);
  r.start('Password: ', { echo: false });
  const done = r.type(`secret${KEYS.backspace}T?\t\r`);
  assert.is(line(done), 'secreT?');
  assert.equal(r.screen.lines()[0], 'Password: ');
  assert.equal(r.editor.history, []);
});

passwords.run();

// ---

const history = suite('LineEditor: history');

history('up and down recall earlier lines; the line being typed comes back', () => {
  const r = rig();
  for (const l of ['show version', 'show log', 'show log']) {
    r.type(`${l}\r`);
    r.start();
  }
  assert.equal(r.editor.history, ['show version', 'show log'], 'repeats are kept once');
  r.type('draft');
  r.type(KEYS.up);
  assert.is(r.screen.cursorLine(), '> show log');
  r.type(`${KEYS.up}${KEYS.up}`);
  assert.is(r.screen.cursorLine(), '> show version');
  assert.is(r.screen.bells, 1, 'past the oldest line: a bell');
  r.type(`${KEYS.down}${KEYS.down}`);
  assert.is(r.screen.cursorLine(), '> draft');
  r.type(`${KEYS.up}${KEYS.up} x\r`);
  assert.equal(r.editor.history, ['show version', 'show log', 'show version x']);
});

history('lines started without history are neither kept nor recalled', () => {
  const r = rig();
  r.type('show version\r');
  r.start('login: ', { history: false });
  r.type(KEYS.up);
  assert.is(r.screen.cursorLine(), 'login: ');
  r.type('admin\r');
  assert.equal(r.editor.history, ['show version']);
  r.editor.clearHistory();
  assert.equal(r.editor.history, []);
});

history.run();

// ---

const assisted = suite('LineEditor: completion and help');

assisted('tab completes a unique word and adds a space', () => {
  const r = rig();
  r.type(`co${KEYS.tab}`);
  assert.is(r.screen.cursorLine(), '> configure ');
});

assisted('tab extends to the common prefix, then lists the candidates', () => {
  const r = rig();
  r.type(`show se${KEYS.tab}`);
  assert.is(r.screen.cursorLine(), '> show serv');
  r.type(KEYS.tab);
  assert.equal(r.screen.lines().slice(-2), ['services  servers', '> show serv']);
  r.type(`x${KEYS.tab}`);
  assert.is(r.screen.bells, 1, 'no candidate: a bell');
});

assisted('? prints help for the text before the cursor and redraws the line', () => {
  const r = rig();
  r.type(`show ver${KEYS.left}${KEYS.left}?`);
  assert.equal(r.screen.lines(), ['> show ver', '  help for "show v"', '> show ver']);
  assert.is(r.screen.col, 8);
});

assisted('? inside quotes is just a character', () => {
  const r = rig();
  assert.is(line(r.type('set path "/a?b"\r')), 'set path "/a?b"');
});

assisted.run();

// ---

const limits = suite('LineEditor: long lines');

limits('a line longer than the terminal scrolls sideways, keeping the cursor in view', () => {
  const r = rig({ columns: 20 });
  r.type('abcdefghijklmnopqrstuvwxyz');
  assert.is(r.screen.cursorLine(), '> jklmnopqrstuvwxyz');
  assert.ok(r.screen.col < 20);
  r.type(KEYS.home);
  assert.is(r.screen.cursorLine(), '> abcdefghijklmnopq');
  assert.is(line(r.type('\r')), 'abcdefghijklmnopqrstuvwxyz');
});

limits('input past the maximum is refused with a bell and one message; Enter discards the line', () => {
  const r = rig({ maxLength: 16 });
  const over = r.type('x'.repeat(40));
  assert.is(r.screen.bells, 1, 'one bell per read, not one per byte');
  assert.is(
    Buffer.from(over.output)
      .toString()
      .match(/line too long/g)?.length,
    1,
  );
  r.type('yy');
  assert.is(r.screen.bells, 2);
  assert.is(
    r.screen.lines().filter((l) => l.includes('line too long')).length,
    1,
    'the message is shown once per line',
  );
  const enter = r.type('\r');
  assert.is(enter.event, undefined, 'an overflowed line is not run');
  assert.match(r.screen.lines().join('\n'), /line discarded: longer than 16 characters\n> $/);
  assert.is(line(r.type('ok\r')), 'ok', 'the next line works');
});

limits('a completion that would pass the maximum rings instead', () => {
  const r = rig({ maxLength: 8 });
  r.type(`con${KEYS.tab}`);
  assert.is(r.screen.bells, 1, '"configure " has 10 characters');
  assert.is(r.screen.cursorLine(), '> con');
});

limits.run();
