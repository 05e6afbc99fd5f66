/**
 * The console end to end: a real pty pair (socat), the Linux serial driver on both ends, a real journal,
 * and a scripted terminal typing at it. After every abuse the console must still answer `show version`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LinuxClock } from '../../hal/clock/linux.ts';
import { LinuxPinger } from '../../hal/icmp/linux.ts';
import { Rng } from '../../hal/sim/rng.ts';
import { canRun, missing } from '../support/needs.ts';
import { KEYS, PROMPT } from './support/terminal.ts';
import { ADMIN, FAST_POLICY, login, OPERATOR, startWorld, type World } from './support/world.ts';

const ADMIN_PROMPT = 'tandem-a(active)# ';
const CONFIG_PROMPT = 'tandem-a(active)(config)# ';

async function stillAnswers(w: World): Promise<void> {
  const out = await w.term.run('show version');
  assert.ok(
    out.some((l) => l.startsWith('Firmware   Tandem 0.1.0')),
    `show version did not answer:\n${out.join('\n')}`,
  );
}

function lifecycle(s: ReturnType<typeof suite<{ w: World }>>): void {
  s.before.each(async (ctx) => {
    ctx.w = await startWorld();
  });
  s.after.each(async (ctx) => {
    await ctx.w.close();
  });
}

if (canRun('console on ptys', { tools: ['socat'] })) {
  const logins = suite<{ w: World }>('console over a pty: login');
  lifecycle(logins);

  logins(
    'wrong passwords are delayed more each time, then the console locks; the lock expires',
    async ({ w }) => {
      const t = w.term;
      const started: number[] = [];
      for (let i = 0; i < FAST_POLICY.maxFailures!; i++) {
        t.markNow();
        await t.send('\r');
        await t.waitPrompt(/^login: $/);
        t.markNow();
        await t.send(`${ADMIN.name}\r`);
        await t.waitPrompt(/^Password: $/);
        t.markNow();
        started.push(performance.now());
        await t.send('wrong-password\r');
        await t.waitPrompt(/^login: $/, 3000);
        started[i] = performance.now() - (started[i] as number);
      }
      assert.ok(
        (started[0] as number) >= 100 && (started[1] as number) >= 200,
        `delays ${started.map(Math.round)}`,
      );
      assert.match(t.output().join('\n'), /too many failed logins: the console is locked for 2 s/);
      t.markNow();
      await t.send(`${ADMIN.name}\r`);
      await t.waitFor(/login refused: too many failed logins; the console is locked for \d more s/);
      await new Promise((r) => setTimeout(r, FAST_POLICY.lockoutMs));
      assert.is(await login(t, ADMIN), ADMIN_PROMPT, 'the prompt names the host and the role');
      const audit = w.journal.events.list({ source: 'console' }).map((e) => e.message);
      assert.ok(audit.includes('console login as "admin" failed (3 in a row)'));
      assert.ok(audit.includes('console login as "admin"'));
    },
  );

  logins(
    'unknown users are refused like wrong passwords; operators get the > prompt and no configure',
    async ({ w }) => {
      const t = w.term;
      t.markNow();
      await t.send('\rnobody\r');
      await t.waitPrompt(/^Password: $/);
      t.markNow();
      await t.send('whatever\r');
      await t.waitFor('Login incorrect');
      await t.waitPrompt(/^login: $/);
      assert.is(await login(t, OPERATOR), 'tandem-a(active)> ');
      const out = await t.run('configure');
      assert.equal(out, ['% permission denied: configure needs the admin role; oper is an operator']);
      const logout = await t.run('logout', { prompt: /^login: $/ });
      assert.ok(logout.includes('oper logged out.'));
    },
  );

  logins.run();

  const idle = suite<{ w: World }>('console over a pty: idle logout');
  idle.before.each(async (ctx) => {
    ctx.w = await startWorld({ policy: { idleLogoutMs: 800 } });
  });
  idle.after.each(async (ctx) => {
    await ctx.w.close();
  });

  idle('a session with no keystroke for the idle time is logged out; typing keeps it', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    t.markNow();
    for (let i = 0; i < 8; i++) {
      await t.send('x');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.not.match(t.output().join('\n'), /no input for/, 'typing without Enter keeps the session');
    await t.send('\x15');
    await t.waitPrompt(/^login: $/, 3000);
    const out = t.output().join('\n');
    assert.match(out, /% no input for 1 s/);
    assert.match(out, /admin logged out\./);
    assert.is(await login(t, ADMIN), ADMIN_PROMPT, 'the next login works');
  });

  idle.run();

  // ---

  const editing = suite<{ w: World }>('console over a pty: line editing, history, completion, help');
  lifecycle(editing);

  editing('history recalls the last command; tab completes; ? explains', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    await stillAnswers(w);
    const again = await t.run(KEYS.up);
    assert.ok(
      again.some((l) => l.startsWith('Firmware')),
      'up arrow + Enter ran show version again',
    );
    t.markNow();
    await t.send(`sh${KEYS.tab}ver${KEYS.tab}`);
    await t.until('completed line', () =>
      t.screen.cursorLine() === `${ADMIN_PROMPT}show version ` ? true : undefined,
    );
    await t.send(`${KEYS.ctrlU}show s${KEYS.tab}${KEYS.tab}`);
    await t.waitFor(/status\s+services\s+servers/);
    t.markNow();
    await t.send(`${KEYS.ctrlU}show ?`);
    await t.until('help and the line redrawn', () =>
      t.output().some((l) => l.startsWith('  journal')) && t.screen.cursorLine() === `${ADMIN_PROMPT}show `
        ? true
        : undefined,
    );
    assert.ok(t.output().includes('  version        firmware and board'));
    t.markNow();
    await t.send(`${KEYS.ctrlU}configure${KEYS.ctrlC}`);
    await t.waitPrompt();
    assert.equal(t.output(), [`${ADMIN_PROMPT}configure^C`, ADMIN_PROMPT], 'ctrl-c abandons the line');
  });

  editing.run();

  // ---

  const shows = suite<{ w: World }>('console over a pty: show commands');
  lifecycle(shows);

  shows('show version, status, journal, log, cluster', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    assert.equal(await t.run('show version'), [
      'Firmware   Tandem 0.1.0',
      'Board      sim',
      'Node       a',
      'Host name  tandem-a',
    ]);
    const status = await t.run('sh stat');
    assert.ok(status.includes('Role           active'));
    assert.ok(
      status.includes(
        'Links          not available on this appliance yet: heartbeat link status (the cluster service)',
      ),
    );
    const journal = await t.run('show journal');
    assert.ok(journal.includes('Replication role  leader'));
    const versions = journal.slice(journal.indexOf('') + 1);
    assert.match(versions[0] ?? '', /^Version +Author +Committed +Rollback of +Comment$/);
    assert.match(versions[2] ?? '', /^ +1 +provisioning +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +- +factory users$/);
    assert.is(versions[2]?.indexOf('provisioning'), versions[0]?.indexOf('Author'), 'columns line up');
    const log = await t.run('show log last 5');
    assert.match(log.at(-1) ?? '', /audit {2}console {2}console login as "admin"$/);
    const cluster = await t.run('show cluster');
    assert.ok(cluster.includes('a     active  -             -           -'));
  });

  shows('what is not wired yet says so instead of showing a made-up table', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    assert.equal(await t.run('show links'), [
      '% not available on this appliance yet: heartbeat link status (the cluster service)',
    ]);
    assert.equal(await t.run('failover'), [
      '% not available on this appliance yet: failover (the cluster service)',
    ]);
    assert.equal(await t.run('maintenance on'), [
      '% not available on this appliance yet: maintenance mode (the cluster service)',
    ]);
    assert.equal(await t.run('reboot'), ['% not available on this appliance yet: reboot (the supervisor)']);
    assert.equal(await t.run('update'), [
      '% not available on this appliance yet: firmware update (the update service)',
    ]);
    assert.equal(await t.run('ping 127.0.0.1'), [
      '% not available on this appliance yet: ping (no ICMP driver)',
    ]);
  });

  shows.run();

  // ---

  const config = suite<{ w: World }>('console over a pty: configure, commit, rollback');
  lifecycle(config);

  config('set a service and a server, show diff, commit, then roll back to version 1', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    assert.ok((await t.run('configure')).some((l) => l.startsWith('Editing the candidate')));
    assert.is(t.screen.cursorLine(), CONFIG_PROMPT);
    assert.equal(await t.run('set service web vip 192.0.2.10 protocol tcp port 80 method nat'), []);
    assert.equal(await t.run('set service web server web1 address 198.51.100.11 port 8080'), []);
    assert.equal(await t.run('set service web server web1 check http path /health interval 1000'), []);
    const diff = await t.run('show diff');
    assert.match(
      diff.join('\n'),
      /^\+ services = \[\{"name":"web","vip":"192\.0\.2\.10".*"servers":\[\{"name":"web1"/,
    );
    assert.match(
      diff.join('\n'),
      /\+ checks = \[\{"service":"web","server":"web1","kind":"http","intervalMs":1000,"path":"\/health"\}\]/,
    );
    const committed = await t.run('commit comment "web farm"');
    assert.equal(committed, [
      'Committed version 2 (2 changes): NOT replicated yet: the peer is not connected; it receives this version when it reconnects.',
    ]);
    const running = w.journal.config.running();
    assert.is(running?.version, 2);
    assert.is(running?.comment, 'web farm');
    assert.is(running?.author, 'admin');
    assert.equal(
      (running?.doc.services as { name: string }[] | undefined)?.map((s) => s.name),
      ['web'],
    );
    assert.is(w.journal.config.candidate(), undefined);
    const servers = await t.run('show servers');
    assert.match(servers.join('\n'), /web {6}web1 {4}198\.51\.100\.11 {2}8080 {7}1 {2}up {5}no record/);
    const back = await t.run('rollback 1');
    assert.match(back[0] ?? '', /^Committed version 3, the configuration of version 1 \(2 changes\)/);
    assert.equal(w.journal.config.running()?.doc, w.journal.config.version(1)?.doc);
    assert.is(w.journal.config.running()?.rollbackOf, 1);
    await t.run('exit');
    assert.is(t.screen.cursorLine(), ADMIN_PROMPT);
  });

  config(
    'bad values are refused naming the word; an invalid candidate is not committed and says where',
    async ({ w }) => {
      const t = w.term;
      await login(t, ADMIN);
      await t.run('configure');
      assert.equal(await t.run('set service web protocol prot'), [
        "% line 2, word 5 'prot': expected tcp|udp",
      ]);
      assert.equal(await t.run('set service web vip 192.0.2.300'), [
        "% line 3, word 5 '192.0.2.300': expected <IPv4 or IPv6 address>",
      ]);
      assert.equal(await t.run('set service web server w1 address 198.51.100.1'), [
        '% service web does not exist',
      ]);
      await t.run('set service web vip 192.0.2.10 protocol tcp port 80 method dr');
      await t.run('set service web server w1 address 2001:db8::1');
      assert.equal(await t.run('commit'), [
        '% commit refused, the candidate is not valid: 1 problem',
        '  services[web].servers[w1].address: must be IPv4 like the VIP 192.0.2.10, got "2001:db8::1"',
      ]);
      assert.is(w.journal.config.running()?.version, 1, 'nothing was committed');
      assert.equal(await t.run('discard'), ['Candidate discarded.']);
      assert.equal(await t.run('show diff'), [
        'The candidate does not differ from the running configuration.',
      ]);
    },
  );

  config('a new user is created with a password typed twice (never echoed) and can log in', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    await t.run('configure');
    t.markNow();
    await t.send('set user alice role operator password\r');
    await t.waitPrompt(/^New password for alice: $/);
    t.markNow();
    await t.send('alice-secret\r');
    await t.waitPrompt(/^Retype it: $/);
    t.markNow();
    await t.send('alice-secret\r');
    await t.waitPrompt();
    assert.not.match(t.raw, /alice-secret/, 'the password never came back to the terminal');
    const diff = await t.run('show diff');
    assert.match(
      diff.join('\n'),
      /^\+ users\[2\] = \{"name":"alice","hash":"\(scrypt hash [0-9a-f]{8}\)","role":"operator"\}$/,
    );
    assert.match((await t.run('commit'))[0] ?? '', /^Committed version 2/);
    await t.run('exit');
    await t.run('logout', { prompt: /^login: $/ });
    assert.is(await login(t, { name: 'alice', password: 'alice-secret' }), 'tandem-a(active)> ');
    await stillAnswers(w);
  });

  config('a node that does not lead the journal refuses configure and says where to go', async ({ w }) => {
    w.journal.demote();
    await login(w.term, ADMIN);
    assert.equal(await w.term.run('configure'), [
      '% this node does not lead the journal (it is a follower): configure on the active node, the change reaches this one by replication',
    ]);
    assert.is(w.term.screen.cursorLine(), ADMIN_PROMPT);
  });

  config.run();

  // ---

  const abuse = suite<{ w: World }>('console over a pty: the console survives bad input');
  lifecycle(abuse);

  abuse('an unknown command', async ({ w }) => {
    await login(w.term, ADMIN);
    assert.equal(await w.term.run('frobnicate now'), [
      "% line 1, word 1 'frobnicate': unknown command, expected show|configure|failover|maintenance|ping|reboot|update|help|logout",
    ]);
    await stillAnswers(w);
  });

  abuse('a 5000-byte line is refused with a bell and discarded', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    const bells = t.screen.bells;
    const out = await t.run('x'.repeat(5000), { timeoutMs: 10_000 });
    assert.ok(t.screen.bells > bells, 'a bell rang');
    assert.ok(out.includes('% line too long: at most 1024 characters; the rest is refused'), out.join('\n'));
    assert.ok(out.includes('% line discarded: longer than 1024 characters'));
    await stillAnswers(w);
  });

  abuse('10 KB of random binary garbage (seed 7)', async ({ w }) => {
    const t = w.term;
    await login(t, ADMIN);
    const rng = new Rng(7);
    const garbage = Buffer.from(Array.from({ length: 10 * 1024 }, () => rng.int(0, 255)));
    t.markNow();
    // ctrl-c ends whatever the garbage left half typed or running, ctrl-u clears the line; the console
    // works through the garbage in order, so show version's answer is the proof it is still usable.
    await t.send(Buffer.concat([garbage, Buffer.from(`${KEYS.ctrlC}${KEYS.ctrlU}show version\r`)]));
    await t.waitFor(/Firmware {3}Tandem 0\.1\.0\nBoard {6}sim/, 20_000);
    await t.waitPrompt(PROMPT, 5000);
    assert.ok(w.console.port.isOpen, 'the console port is still open');
    await stillAnswers(w);
  });

  abuse.run();
}

// ---

if (missing({ root: true, tools: ['socat'] }).length === 0) {
  const ping = suite<{ w: World; pinger: LinuxPinger }>('console over a pty: ping through the ICMP driver');

  ping.before.each(async (ctx) => {
    ctx.pinger = new LinuxPinger({ clock: new LinuxClock() });
    ctx.w = await startWorld({ pinger: ctx.pinger });
  });
  ping.after.each(async (ctx) => {
    await ctx.w.close();
    await ctx.pinger.close();
  });

  ping('ping 127.0.0.1 count 2 prints each reply and a summary', async ({ w }) => {
    await login(w.term, OPERATOR);
    const out = await w.term.run('ping 127.0.0.1 count 2 timeout 500', { timeoutMs: 8000 });
    assert.is(out.length, 3, out.join('\n'));
    assert.match(out[0] ?? '', /^reply from 127\.0\.0\.1: seq 1 time \d+\.\d{3} ms ttl \d+$/);
    assert.match(out[2] ?? '', /^2 sent, 2 received, 0% lost, rtt min\/avg\/max [\d.]+\/[\d.]+\/[\d.]+ ms$/);
  });

  ping.run();
} else console.log('skip: console ping needs root and socat');
