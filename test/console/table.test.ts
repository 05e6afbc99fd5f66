import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { renderPairs, renderTable, safeText } from '../../firmware/console/table.ts';

const tables = suite('renderTable and renderPairs');

tables('columns are as wide as their widest cell; numbers may align right', () => {
  assert.equal(
    renderTable(
      [{ title: 'Service' }, { title: 'Port', align: 'right' }, { title: 'Servers' }],
      [
        ['web', 80, '2/2'],
        ['dns-internal', 53, '1/3'],
      ],
    ),
    [
      'Service       Port  Servers',
      '------------  ----  -------',
      'web             80  2/2',
      'dns-internal    53  1/3',
    ],
  );
});

tables('missing cells show as -, wide characters count once, trailing spaces are trimmed', () => {
  assert.equal(renderTable([{ title: 'A' }, { title: 'B' }], [['é', undefined], ['longer']]), [
    'A       B',
    '------  -',
    'é       -',
    'longer  -',
  ]);
});

tables('control characters from data cannot drive the terminal', () => {
  assert.is(safeText('bad\x1b[2J\r\nname\x9b'), 'bad?[2J??name?');
  assert.equal(renderTable([{ title: 'Name' }], [['\x07x']]), ['Name', '----', '?x']);
});

tables('pairs align their values', () => {
  assert.equal(
    renderPairs([
      ['Node', 'a'],
      ['Replication role', 'leader'],
      ['Lag', undefined],
    ]),
    ['Node              a', 'Replication role  leader', 'Lag               -'],
  );
});

tables.run();
