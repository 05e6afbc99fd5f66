/**
 * The read-only status page: one self-contained HTML document (no external assets) whose script reads
 * /status.json every second and redraws. Rates (connections/s, bytes/s) come from the difference between
 * two readings. Every value is put in with textContent, never as markup.
 */

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #b35900; --bad: #c62828; --mute: #777;
  --card: rgba(127,127,127,.08); --line: rgba(127,127,127,.25); }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .8rem 1rem;
  border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.25rem; margin: 0; }
#updated { color: var(--mute); font-size: .85rem; margin-left: auto; }
main { display: grid; gap: 1rem; padding: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .7rem .9rem;
  min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--mute); margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
.big { font-size: 1.6rem; font-weight: 650; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; }
dt { color: var(--mute); }
dd { margin: 0; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .25rem .5rem .25rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--mute); font-weight: 500; font-size: .85rem; }
td.n, th.n { text-align: right; }
.pill { display: inline-block; padding: 0 .5rem; border-radius: 1rem; font-weight: 600; font-size: .85rem;
  border: 1px solid currentColor; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .mute { color: var(--mute); }
.bar { height: .35rem; background: var(--line); border-radius: .2rem; min-width: 3rem; }
.bar > span { display: block; height: 100%; background: var(--ok); border-radius: .2rem; }
@media (max-width: 36rem) { .wide-only { display: none; } main { padding: .6rem; gap: .6rem; }
  table { font-size: .9rem; } th, td { padding-right: .4rem; } }
#error { display: none; padding: .5rem 1rem; background: var(--bad); color: #fff; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var prev = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function tone(state) {
    state = String(state);
    if (/^(ACTIVE|up|running|leader|true)$/.test(state)) return 'ok';
    if (/^(STANDBY|INIT|warn|starting|backoff|follower|MAINTENANCE)$/.test(state)) return 'warn';
    if (/^(FAULT|down|failed|false|STOPPED)$/.test(state)) return 'bad';
    return 'mute';
  }
  function pill(state) { return el('span', state, 'pill ' + tone(state)); }
  function num(n) { return n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'); }
  function bytes(n) {
    if (n === undefined || n === null) return '–';
    var u = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + u[i];
  }
  function rate(now, before, seconds) {
    if (before === undefined || seconds <= 0) return null;
    return Math.max(0, (now - before) / seconds);
  }
  function fixed(n) { return n === null ? '–' : n < 10 ? n.toFixed(1) : n.toFixed(0); }
  function dl(pairs) {
    var d = el('dl');
    pairs.forEach(function (p) {
      d.appendChild(el('dt', p[0]));
      var dd = el('dd');
      if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = p[1] === undefined ? '–' : String(p[1]);
      d.appendChild(dd);
    });
    return d;
  }
  function table(head, rows, numeric, wideOnly) {
    wideOnly = wideOnly || [];
    function cls(i) { return (numeric[i] ? 'n' : '') + (wideOnly[i] ? ' wide-only' : ''); }
    var wrap = el('div', null, 'scroll'), t = el('table'), tr = el('tr');
    head.forEach(function (h, i) { tr.appendChild(el('th', h, cls(i))); });
    var thead = el('thead'); thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c, i) {
        var td = el('td', null, cls(i));
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? '–' : String(c);
        row.appendChild(td);
      });
      tb.appendChild(row);
    });
    t.appendChild(tb); wrap.appendChild(t);
    return wrap;
  }
  function key() { return Array.prototype.join.call(arguments, '|'); }

  function draw(s) {
    var seconds = prev ? (Date.parse(s.at) - Date.parse(prev.at)) / 1000 : 0;
    var before = {};
    if (prev && prev.traffic) prev.traffic.services.forEach(function (svc) {
      before[key('s', svc.name)] = svc;
      svc.servers.forEach(function (r) { before[key('r', svc.name, r.address, r.port)] = r; });
    });
    var c = s.cluster;
    $('node').textContent = 'Appliance ' + s.node;
    var role = clear($('role'));
    role.appendChild(c ? pill(c.role) : pill('unknown'));
    $('updated').textContent = 'updated ' + new Date(s.at).toLocaleTimeString();

    var who = 'unknown';
    if (c) {
      if (c.role === 'ACTIVE') who = 'this node (' + s.node + ')';
      else if (c.peer && c.peer.role === 'ACTIVE' && c.peerAlive) who = 'peer (node ' + c.peer.nodeId + ')';
      else who = 'none';
    }
    var cl = clear($('cluster'));
    cl.appendChild(el('h2', 'Cluster'));
    cl.appendChild(el('div', 'Active: ' + who, 'big ' + (who === 'none' ? 'bad' : '')));
    if (c) {
      cl.appendChild(dl([
        ['this node', pill(c.role)], ['epoch', c.epoch], ['health', c.health],
        ['peer', c.peer ? pill(c.peerAlive ? c.peer.role : 'down') : pill('unknown')],
        ['peer health', c.peer ? c.peer.health : undefined],
        ['transitions', Object.keys(s.transitions).map(function (r) { return r + ' ' + s.transitions[r]; }).join(', ') || 'none'],
      ]));
    } else cl.appendChild(el('p', 'cluster status unavailable', 'bad'));

    var ln = clear($('links'));
    ln.appendChild(el('h2', 'Heartbeat links'));
    if (c) ln.appendChild(table(['link', 'state', 'silent', 'sent', 'received', 'dropped'], c.links.map(function (l) {
      var k = l.shell ? l.shell.counters : null, dropped = 0;
      if (k) { [k.decodeErrors, k.drops].forEach(function (o) { Object.keys(o).forEach(function (x) { dropped += o[x]; }); }); }
      return [l.name, pill(l.status), l.silentMs === undefined ? '–' : l.silentMs + ' ms',
        k ? num(k.framesOut) : '–', k ? num(k.framesIn) : '–', k ? num(dropped) : '–'];
    }), [false, false, true, true, true, true]));

    var jv = (c && c.journal) || (s.journal && s.journal.status);
    var jn = clear($('journal'));
    jn.appendChild(el('h2', 'Journal'));
    if (jv) jn.appendChild(dl([
      ['role', pill(jv.role)], ['head seq', num(jv.head)], ['epoch', jv.epoch],
      ['replication lag', jv.lag === undefined || jv.lag === null ? 'no follower' : num(jv.lag) + ' entries'],
      ['peer', jv.relation === 'none' ? 'not connected' : jv.relation], ['recovering', jv.recovering ? 'yes' : 'no'],
    ]));
    else jn.appendChild(el('p', 'journal status unavailable', 'mute'));

    var sv = clear($('services'));
    sv.appendChild(el('h2', 'Services and servers'));
    var health = {};
    var healthByService = {};
    ((s.journal && s.journal.servers) || []).forEach(function (h) {
      health[key(h.service, h.address)] = h;
      (healthByService[h.service] = healthByService[h.service] || []).push(h);
    });
    var names = {};
    ((s.traffic && s.traffic.services) || []).forEach(function (x) { names[x.name] = x; });
    Object.keys(healthByService).forEach(function (n) { if (!names[n]) names[n] = null; });
    var list = Object.keys(names).sort();
    if (list.length === 0) sv.appendChild(el('p', s.traffic ? 'no services configured' : 'traffic counters unavailable', 'mute'));
    list.forEach(function (name) {
      var t = names[name], b = before[key('s', name)];
      var title = el('h3', name + (t ? ' (' + t.method + ')' : ''));
      sv.appendChild(title);
      if (t) sv.appendChild(el('div', fixed(rate(t.connections, b && b.connections, seconds)) + ' conn/s · ' +
        bytes(rate(t.bytes, b && b.bytes, seconds)) + '/s · ' + num(t.connections) + ' connections total', 'mute'));
      var rows = [], seen = {};
      var conns = (t ? t.servers : []).map(function (r) {
        var rb = before[key('r', name, r.address, r.port)];
        return rate(r.connections, rb && rb.connections, seconds);
      });
      var sum = conns.reduce(function (a, x) { return a + (x || 0); }, 0);
      (t ? t.servers : []).forEach(function (r, i) {
        var h = health[key(name, r.address)];
        if (h) seen[h.server] = true;
        var share = sum > 0 ? (conns[i] || 0) / sum : 0;
        var bar = el('div', null, 'bar'), fill = el('span');
        fill.style.width = Math.round(share * 100) + '%'; bar.appendChild(fill);
        rows.push([h ? h.server : '–', r.port === '*' ? r.address : r.address + ':' + r.port, pill(h ? h.state : 'unknown'),
          h && h.weight !== undefined ? h.weight : '–', fixed(conns[i]), Math.round(share * 100) + '%', bar,
          num(r.connections)]);
      });
      (healthByService[name] || []).forEach(function (h) {
        if (seen[h.server]) return;
        rows.push([h.server, h.address || '–', pill(h.state), h.weight === undefined ? '–' : h.weight, '–', '–', '', '–']);
      });
      sv.appendChild(table(['server', 'address', 'health', 'weight', 'conn/s', 'share', '', 'total'], rows,
        [false, false, false, true, true, true, false, true], [false, false, false, false, false, true, true, true]));
    });

    var sp = clear($('supervisor'));
    sp.appendChild(el('h2', 'Appliance services'));
    if (s.supervisor) sp.appendChild(table(['service', 'state', 'restarts'], s.supervisor.services.map(function (x) {
      return [x.name, pill(x.state), num(x.restarts)];
    }), [false, false, true]));
    else sp.appendChild(el('p', 'supervisor status unavailable', 'mute'));
    var down = Object.keys(s.sources).filter(function (k) { return !s.sources[k].up; });
    var src = el('p', down.length === 0 ? 'all sources answer' : 'not answering: ' + down.map(function (k) {
      return k + ' (' + s.sources[k].error + ')';
    }).join('; '), down.length === 0 ? 'mute' : 'warn');
    src.id = 'sources';
    sp.appendChild(src);
    prev = s;
  }

  function tick() {
    fetch('status.json', { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (s) {
      var box = $('error');
      box.style.display = 'none';
      box.textContent = '';
      draw(s);
      document.body.setAttribute('data-ready', 'true');
    }).catch(function (e) {
      var box = $('error');
      box.textContent = 'status unavailable: ' + e.message;
      box.style.display = 'block';
    }).then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
`;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function statusPage(title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t} status</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="node">${t}</h1><span id="role"></span><span id="updated">loading…</span></header>
<div id="error" role="alert"></div>
<main>
<section id="cluster"><h2>Cluster</h2></section>
<section id="links"><h2>Heartbeat links</h2></section>
<section id="journal"><h2>Journal</h2></section>
<section id="services" class="wide"><h2>Services and servers</h2></section>
<section id="supervisor"><h2>Appliance services</h2></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
