/**
 * The console session on one port: a login prompt (users and scrypt hashes from the running
 * configuration, the login policy core deciding delays and lockout), then the command loop with a prompt
 * naming the host and the cluster role, in operational or configure mode, until logout; then the login
 * prompt again. No input ends it: bad lines get a message and the prompt comes back. Only the port closing
 * (or the console being closed) ends it.
 */
import type { Clock, Timer } from '../../hal/clock/types.ts';
import type { ScryptParams } from '../config/password.ts';
import { hashPassword, verifyPassword } from '../config/password.ts';
import { USER_NAME, USER_ROLES, type UserConfig, type UserRole } from '../config/schema.ts';
import type { ConfigDoc } from '../journal/types.ts';
import type { ConsoleBackend } from './backend.ts';
import { ADMIN_ONLY, type CompletionContext, configure, operational } from './commands.ts';
import type { EditorAssist } from './editor.ts';
import { formatParseError, type Grammar } from './grammar.ts';
import { configureHandlers } from './handlers/configure.ts';
import type { CommandContext, ConsoleUser, Handler, Mode } from './handlers/context.ts';
import { operateHandlers } from './handlers/operate.ts';
import { showHandlers } from './handlers/show.ts';
import {
  initialLoginState,
  type LoginAction,
  type LoginPolicy,
  type LoginState,
  loginStep,
} from './login.ts';
import { safeText } from './table.ts';
import type { Terminal } from './terminal.ts';

export type ConsoleLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface ShellOptions {
  backend: ConsoleBackend;
  clock: Clock;
  policy: LoginPolicy;
  /** Who may log in while the running configuration has no users (factory state, from provisioning). */
  fallbackUsers: readonly UserConfig[];
  /** scrypt cost for new passwords and the decoy hash (undefined: the default). */
  hashParams: ScryptParams | undefined;
  log: ConsoleLog;
}

const HANDLERS: Record<string, Handler> = { ...showHandlers, ...configureHandlers, ...operateHandlers };

export class Shell {
  private loginState: LoginState = initialLoginState;
  private mode: Mode = 'operational';
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly term: Terminal,
    private readonly options: ShellOptions,
    private readonly signal: AbortSignal,
  ) {}

  /** The editor's tab completion and `?` help, for whichever mode the session is in. */
  readonly assist: EditorAssist = {
    complete: (before) => this.grammar().complete(before, this.completion),
    help: (before) => this.grammar().help(before),
  };

  private readonly completion: CompletionContext = {
    doc: (): ConfigDoc => {
      const config = this.options.backend.config;
      const running = config.running()?.doc ?? {};
      return this.mode === 'configure' ? (config.candidate()?.doc ?? running) : running;
    },
  };

  private configuring(): boolean {
    return this.mode === 'configure';
  }

  private grammar(): Grammar<CompletionContext> {
    return this.configuring() ? configure : operational;
  }

  async run(): Promise<void> {
    while (!this.term.isClosed && !this.signal.aborted) {
      this.banner();
      const user = await this.login();
      if (user === undefined) return;
      await this.session(user);
    }
  }

  private banner(): void {
    const b = this.options.backend;
    const v = b.version();
    this.term.print('', `${b.hostname()}: Tandem ${v.firmware} on ${v.board}, node ${v.node}`, '');
  }

  private async login(): Promise<ConsoleUser | undefined> {
    const { clock, policy } = this.options;
    for (;;) {
      const name = await this.term.readLine('login: ', { history: false });
      if (name.type === 'closed') return undefined;
      if (name.type !== 'line' || name.text.trim() === '') continue;
      const user = name.text.trim();
      if (this.apply(loginStep(policy, this.loginState, { type: 'attempt', user }, clock.now())).refused)
        continue;
      const password = await this.term.readLine('Password: ', { echo: false });
      if (password.type === 'closed') return undefined;
      if (password.type !== 'line') continue;
      const found = await this.check(user, password.text);
      const outcome = this.apply(
        loginStep(policy, this.loginState, { type: found ? 'success' : 'failure', user }, clock.now()),
      );
      if (found && outcome.granted) return found;
      if (outcome.refused) continue;
      this.term.print('Login incorrect');
      if (outcome.delayMs > 0) await this.pause(outcome.delayMs);
    }
  }

  /** Carries out the policy's actions; returns what they decided. */
  private apply(step: { state: LoginState; actions: LoginAction[] }): {
    refused: boolean;
    granted: boolean;
    delayMs: number;
  } {
    this.loginState = step.state;
    const out = { refused: false, granted: false, delayMs: 0 };
    for (const action of step.actions) {
      switch (action.type) {
        case 'verify':
          break;
        case 'grant':
          out.granted = true;
          break;
        case 'refuse':
          out.refused = true;
          this.term.print(
            `% login refused: too many failed logins; the console is locked for ${Math.ceil(action.remainingMs / 1000)} more s`,
          );
          break;
        case 'delay':
          out.delayMs = action.ms;
          break;
        case 'lock':
          this.term.print(
            'Login incorrect',
            `% too many failed logins: the console is locked for ${Math.ceil(action.ms / 1000)} s`,
          );
          out.refused = true;
          break;
        case 'audit':
          void this.audit(action.message);
          break;
      }
    }
    return out;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await this.options.clock.sleep(ms, { signal: this.signal });
    } catch {
      // closing: the loop ends at the next read
    }
    this.term.discardInput();
  }

  private users(): UserConfig[] {
    const doc = this.options.backend.config.running()?.doc;
    const list = Array.isArray(doc?.users) ? doc.users : [];
    const users = list.flatMap((u): UserConfig[] => {
      if (typeof u !== 'object' || u === null || Array.isArray(u)) return [];
      const { name, hash, role } = u;
      const ok =
        typeof name === 'string' &&
        USER_NAME.test(name) &&
        typeof hash === 'string' &&
        (USER_ROLES as readonly unknown[]).includes(role);
      return ok ? [{ name, hash, role: role as UserRole }] : [];
    });
    return users.length > 0 ? users : [...this.options.fallbackUsers];
  }

  /** The user when `password` is theirs. Unknown names cost the same time as wrong passwords. */
  private async check(name: string, password: string): Promise<ConsoleUser | undefined> {
    const user = this.users().find((u) => u.name === name);
    try {
      if (user === undefined) {
        await verifyPassword(password, await this.decoyHash());
        return undefined;
      }
      return (await verifyPassword(password, user.hash)) ? { name: user.name, role: user.role } : undefined;
    } catch (err) {
      this.options.log(
        'error',
        `cannot check the password of ${JSON.stringify(name)}: ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= hashPassword(
      'decoy password',
      this.options.hashParams ? { params: this.options.hashParams } : {},
    );
    return this.decoy;
  }

  private prompt(user: ConsoleUser): string {
    const b = this.options.backend;
    const host = safeText(b.hostname()).slice(0, 32);
    const role = safeText(b.role()).slice(0, 16);
    if (this.mode === 'configure') return `${host}(${role})(config)# `;
    return `${host}(${role})${user.role === 'admin' ? '#' : '>'} `;
  }

  /**
   * Ends the pending read with `idle` once no byte has arrived for a whole idle period (checked at the end
   * of each period, so a session goes after one to two of them). Returns the function that stops watching.
   */
  private watchIdle(): () => void {
    const ms = this.options.policy.idleLogoutMs;
    if (ms <= 0) return () => {};
    let seen = this.term.inputCount;
    let timer: Timer | undefined;
    const arm = (): void => {
      timer = this.options.clock.setTimer(ms, () => {
        if (this.term.inputCount === seen) this.term.interrupt({ type: 'idle' });
        else {
          seen = this.term.inputCount;
          arm();
        }
      });
    };
    arm();
    return () => timer?.cancel();
  }

  private async session(user: ConsoleUser): Promise<void> {
    this.mode = 'operational';
    let line = 0;
    let loggedIn = true;
    this.term.print(`Logged in as ${user.name} (${user.role}). Type ? for help.`);
    while (loggedIn) {
      const idle = this.watchIdle();
      const event = await this.term.readLine(this.prompt(user)).finally(idle);
      if (event.type === 'closed') return;
      if (event.type === 'idle') {
        this.term.print(`% no input for ${duration(this.options.policy.idleLogoutMs)}: logging out`);
        break;
      }
      if (event.type === 'eof') {
        this.term.print(
          this.configuring() ? '% use exit to leave configure mode' : '% use logout to end the session',
        );
        continue;
      }
      if (event.type !== 'line' || event.text.trim() === '') continue;
      line++;
      const parsed = this.grammar().parse(event.text);
      if (!parsed.ok) {
        this.term.print(`% ${formatParseError(parsed.error, line)}`);
        continue;
      }
      const command = parsed.parsed.command;
      if (ADMIN_ONLY.has(command) && user.role !== 'admin') {
        this.term.print(`% permission denied: ${command} needs the admin role; ${user.name} is an operator`);
        continue;
      }
      const handler = HANDLERS[command];
      if (handler === undefined) {
        this.term.print(`% ${command} is not implemented`);
        continue;
      }
      await this.term.run(async (signal) => {
        const ctx: CommandContext = {
          backend: this.options.backend,
          term: this.term,
          user,
          clock: this.options.clock,
          signal: AbortSignal.any([signal, this.signal]),
          mode: this.mode,
          hashParams: this.options.hashParams,
          setMode: (mode) => {
            this.mode = mode;
          },
          logout: () => {
            loggedIn = false;
          },
        };
        try {
          await handler(ctx, parsed.parsed);
        } catch (err) {
          this.term.print(`% ${this.describe(err, ctx.signal)}`);
        }
      });
    }
    this.mode = 'operational';
    this.term.clearHistory();
    this.term.print(`${user.name} logged out.`);
    void this.audit(`console logout of ${JSON.stringify(user.name)}`);
  }

  private describe(err: unknown, signal: AbortSignal): string {
    if (signal.aborted) return 'interrupted';
    if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.message;
    this.options.log(
      'error',
      `command failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return `internal error: ${err instanceof Error ? err.message : String(err)}`;
  }

  private async audit(message: string): Promise<void> {
    try {
      await this.options.backend.audit(message);
    } catch (err) {
      this.options.log('warn', `audit not recorded (${(err as Error).message}): ${message}`);
    }
  }
}

const duration = (ms: number): string =>
  ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.max(1, Math.round(ms / 1000))} s`;
