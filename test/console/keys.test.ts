import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Key, KeyDecoder } from '../../firmware/console/keys.ts';

/** Keys decoded from `chunks`, fed one chunk after another through one decoder. */
function keys(...chunks: (string | number[])[]): string[] {
  const d = new KeyDecoder();
  const out: string[] = [];
  for (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk);
    for (const b of bytes) {
      const k: Key | undefined = d.push(b);
      if (k) out.push(k.name === 'char' ? k.text : `<${k.name}>`);
    }
  }
  return out;
}

const decode = suite('KeyDecoder: bytes to keys');

decode('printable ASCII, and the control keys the editor knows', () => {
  assert.equal(keys('ab'), ['a', 'b']);
  assert.equal(keys('\x01\x02\x03\x04\x05\x06\x08\t\x0b\x0c\x0e\x10\x15\x17\x7f'), [
    '<home>',
    '<left>',
    '<interrupt>',
    '<eof>',
    '<end>',
    '<right>',
    '<backspace>',
    '<tab>',
    '<kill-to-end>',
    '<clear>',
    '<down>',
    '<up>',
    '<kill-to-start>',
    '<kill-word>',
    '<backspace>',
  ]);
});

decode('CR, LF and CR LF are each one enter', () => {
  assert.equal(keys('a\rb\nc\r\nd'), ['a', '<enter>', 'b', '<enter>', 'c', '<enter>', 'd']);
  assert.equal(keys('\r', '\n', 'x'), ['<enter>', 'x'], 'CR LF split across reads');
  assert.equal(keys('\n\n'), ['<enter>', '<enter>']);
});

decode('cursor keys as CSI and SS3, also split across reads', () => {
  assert.equal(keys('\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F'), [
    '<up>',
    '<down>',
    '<right>',
    '<left>',
    '<home>',
    '<end>',
  ]);
  assert.equal(keys('\x1bOA\x1bOH'), ['<up>', '<home>']);
  assert.equal(keys('\x1b', '[', '3', '~'), ['<delete>']);
  assert.equal(keys('\x1b[1~\x1b[4~\x1b[7~\x1b[8~\x1b[1;5C'), [
    '<home>',
    '<end>',
    '<home>',
    '<end>',
    '<right>',
  ]);
});

decode('unknown and over-long sequences and Alt chords produce nothing', () => {
  assert.equal(keys('\x1b[200~x\x1b[99Zy'), ['x', 'y']);
  assert.equal(keys(`\x1b[${'1'.repeat(40)}zy`), ['y'], 'a runaway sequence is dropped up to its final byte');
  assert.equal(keys('\x1bx\x1b\x1b[Az'), ['<up>', 'z']);
  assert.equal(keys('\x1b\r'), ['<enter>'], 'a lone ESC before a control key does not eat it');
  assert.equal(keys('\x1b[\x03'), ['<interrupt>'], 'a control byte ends a sequence and still counts');
});

decode('UTF-8 characters come whole, even split across reads', () => {
  assert.equal(keys([0xc3, 0xa9]), ['é']);
  assert.equal(keys([0xf0, 0x9f], [0x98, 0x80]), ['😀']);
  assert.equal(keys([0xe2], [0x82], [0xac, 0x41]), ['€', 'A']);
});

decode('malformed UTF-8, overlong forms, surrogates and C1 controls are dropped', () => {
  assert.equal(keys([0xc3, 0x41]), ['A'], 'a broken sequence: the byte after it is read afresh');
  assert.equal(keys([0xc0, 0xaf, 0xe0, 0x80, 0xaf, 0x42]), ['B']);
  assert.equal(keys([0xed, 0xa0, 0x80, 0x43]), ['C']);
  assert.equal(keys([0xc2, 0x9b, 0x44]), ['D'], 'U+009B (CSI as a C1 control)');
  assert.equal(keys([0xff, 0xfe, 0x80, 0x45]), ['E']);
  assert.equal(keys([0x00, 0x07, 0x1a, 0x46]), ['F'], 'NUL, BEL, SUB');
});

decode.run();
