import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatParseError, Grammar, type ParseResult } from '../../firmware/console/grammar.ts';
import { choice, integer, name, port } from '../../firmware/console/values.ts';
import { splitWords } from '../../firmware/console/words.ts';

interface Ctx {
  services: string[];
}

const grammar = new Grammar<Ctx>([
  {
    word: 'show',
    help: 'show things',
    children: [
      { word: 'version', help: 'firmware', run: 'show.version' },
      { word: 'services', help: 'services', run: 'show.services' },
      {
        word: 'servers',
        help: 'servers',
        run: 'show.servers',
        options: [
          {
            word: 'service',
            help: 'only one',
            params: [{ name: 'service', type: name('service', /^[a-z]+$/, 'a-z', (c) => c.services) }],
          },
        ],
      },
    ],
  },
  {
    word: 'set',
    help: 'change things',
    children: [
      {
        word: 'service',
        help: 'a service',
        children: [
          {
            param: { name: 'service', type: name('service', /^[a-z]+$/, 'a-z', (c) => c.services) },
            help: 'its name',
            run: 'set.service',
            minOptions: 1,
            options: [
              {
                word: 'protocol',
                help: 'tcp or udp',
                params: [{ name: 'protocol', type: choice(['tcp', 'udp']) }],
              },
              { word: 'port', help: 'a port', params: [{ name: 'port', type: port() }] },
              {
                word: 'field',
                help: 'any field',
                repeat: true,
                params: [
                  { name: 'key', type: name('key', /^[a-z]+$/, 'a-z') },
                  { name: 'value', type: integer('n', 0, 9) },
                ],
              },
            ],
          },
        ],
      },
    ],
  },
  { word: 'reboot', exact: true, help: 'restart', run: 'reboot' },
  { word: 'rescan', help: 'scan again', run: 'rescan' },
]);

const ctx: Ctx = { services: ['web', 'mail', 'www'] };

function error(result: ParseResult): string {
  assert.not.ok(result.ok, 'expected a parse error');
  return result.ok ? '' : formatParseError(result.error, 1);
}

const words = suite('splitWords');

words('spaces separate words; quotes keep spaces; escapes inside quotes', () => {
  assert.equal(
    splitWords('  set  "a b" "say \\"hi\\"" x').map((w) => [w.text, w.start, w.end, w.quoted]),
    [
      ['set', 2, 5, false],
      ['a b', 7, 12, true],
      ['say "hi"', 13, 25, true],
      ['x', 26, 27, false],
    ],
  );
  assert.ok(splitWords('commit "unfinished').at(-1)?.open);
});

words.run();

// ---

const parse = suite('Grammar: parse');

parse('keywords, typed arguments and options in any order', () => {
  const r = grammar.parse('set service web port 80 protocol tcp');
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.parsed.command, 'set.service');
    assert.equal(r.parsed.args, { service: 'web' });
    assert.equal(r.parsed.options, { port: 80, protocol: 'tcp' });
  }
});

parse('repeatable options with several values collect lists', () => {
  const r = grammar.parse('set service web field a 1 field b 2');
  assert.ok(r.ok);
  if (r.ok)
    assert.equal(r.parsed.options, {
      field: [
        ['a', 1],
        ['b', 2],
      ],
    });
});

parse('keywords may be shortened to a unique prefix, except exact ones', () => {
  const r = grammar.parse('sh ver');
  assert.ok(r.ok && r.parsed.command === 'show.version');
  const s = grammar.parse('res');
  assert.ok(s.ok && s.parsed.command === 'rescan', 'reboot takes no abbreviation, so res is rescan');
  assert.is(
    error(grammar.parse('reb')),
    "line 1, word 1 'reb': unknown command, expected show|set|reboot|rescan",
  );
});

parse('errors name the line, the word, the token and what was expected', () => {
  assert.is(error(grammar.parse('set service web protocol prot')), "line 1, word 5 'prot': expected tcp|udp");
  assert.is(
    error(grammar.parse('set service web port 70000')),
    "line 1, word 5 '70000': expected <port 1-65535>",
  );
  assert.is(error(grammar.parse('set service Web port 80')), "line 1, word 3 'Web': expected <service>: a-z");
  assert.is(
    error(grammar.parse('frobnicate')),
    "line 1, word 1 'frobnicate': unknown command, expected show|set|reboot|rescan",
  );
  assert.is(error(grammar.parse('show se')), "line 1, word 2 'se': ambiguous: could be services|servers");
});

parse('missing words are reported after the last one', () => {
  assert.is(
    error(grammar.parse('show')),
    'line 1, word 2: incomplete command: expected version|services|servers',
  );
  assert.is(
    error(grammar.parse('set service web')),
    'line 1, word 4: incomplete command: expected protocol|port|field',
  );
  assert.is(
    error(grammar.parse('set service web port')),
    "line 1, word 5: expected <port 1-65535> after 'port'",
  );
});

parse('repeats, extra words and open quotes', () => {
  assert.is(
    error(grammar.parse('set service web port 1 port 2')),
    "line 1, word 6 'port': expected protocol|field|<end of line>",
  );
  assert.is(
    error(grammar.parse('show version now')),
    "line 1, word 3 'now': unexpected: the command is complete before this word",
  );
  assert.is(error(grammar.parse('set service "web')), "line 1, word 3 'web': unterminated quote");
});

parse('a quoted word is a value, never a keyword', () => {
  assert.is(
    error(grammar.parse('"show" version')),
    "line 1, word 1 'show': unknown command, expected show|set|reboot|rescan",
  );
});

parse('long or binary tokens are shortened and made printable in errors', () => {
  const msg = error(grammar.parse(`\x1b[2J${'x'.repeat(100)}`));
  assert.match(msg, /^line 1, word 1 '\?\[2Jx{33}\.\.\.': unknown command/);
});

parse.run();

// ---

const assist = suite('Grammar: completion and help from the same tree');

assist('completion offers keywords, unused options and argument values', () => {
  assert.equal(grammar.complete('', ctx), { from: 0, candidates: ['show', 'set', 'reboot', 'rescan'] });
  assert.equal(grammar.complete('sh', ctx), { from: 0, candidates: ['show'] });
  assert.equal(grammar.complete('show se', ctx), { from: 5, candidates: ['services', 'servers'] });
  assert.equal(grammar.complete('set service w', ctx), { from: 12, candidates: ['web', 'www'] });
  assert.equal(grammar.complete('set service web port 80 ', ctx).candidates, ['protocol', 'field']);
  assert.equal(grammar.complete('set service web protocol ', ctx).candidates, ['tcp', 'udp']);
  assert.equal(grammar.complete('bogus ', ctx).candidates, []);
});

assist('help lists what may come next, with <cr> where the command may end', () => {
  assert.equal(grammar.help('show '), [
    '  version   firmware',
    '  services  services',
    '  servers   servers',
  ]);
  assert.equal(grammar.help('show servers '), ['  service  only one', '  <cr>     run the command']);
  assert.equal(grammar.help('set service web port '), ['  <port 1-65535>  a port']);
  assert.equal(grammar.help('show ser'), ['  services  services', '  servers   servers']);
  assert.equal(grammar.help('shoe '), ["% word 1 'shoe': unknown command, expected show|set|reboot|rescan"]);
});

assist.run();
