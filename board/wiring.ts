import { statSync } from 'node:fs';
import { GrubBootSlots } from '../hal/bootslots/linux.ts';
import { SimBootSlots } from '../hal/bootslots/sim.ts';
import type { BootSlots } from '../hal/bootslots/types.ts';
import { LinuxClock } from '../hal/clock/linux.ts';
import type { Clock } from '../hal/clock/types.ts';
import { LinuxConntrack } from '../hal/conntrack/linux.ts';
import type { ConnectionTracker } from '../hal/conntrack/types.ts';
import { LinuxGpioDriver } from '../hal/gpio/linux.ts';
import { SimGpioChip, SimGpioDriver } from '../hal/gpio/sim.ts';
import type { GpioDriver } from '../hal/gpio/types.ts';
import { LinuxPinger } from '../hal/icmp/linux.ts';
import type { Pinger } from '../hal/icmp/types.ts';
import { LinuxNet } from '../hal/net/linux.ts';
import type { NetDriver } from '../hal/net/types.ts';
import { NftPacketFilter } from '../hal/packetfilter/linux.ts';
import type { PacketFilter } from '../hal/packetfilter/types.ts';
import { LinuxSerialDriver } from '../hal/serial/linux.ts';
import type { SerialDriver } from '../hal/serial/types.ts';
import { LinuxWatchdog } from '../hal/watchdog/linux.ts';
import { SimWatchdog } from '../hal/watchdog/sim.ts';
import type { WatchdogDriver } from '../hal/watchdog/types.ts';
import { BoardError } from './errors.ts';
import type { Board } from './types.ts';

/** Every driver a service may be handed, built once per process from the board. */
export interface Drivers {
  readonly board: Board;
  readonly clock: Clock;
  /** Opens board.serial.heartbeat and board.serial.console. */
  readonly serial: SerialDriver;
  readonly gpio: GpioDriver;
  readonly net: NetDriver;
  readonly pinger: Pinger;
  readonly packetFilter: PacketFilter;
  /** The kernel's connection tracking table (forward's lc/wlc re-weighting of NAT services). */
  readonly conntrack: ConnectionTracker;
  readonly watchdog: WatchdogDriver;
  readonly bootSlots: BootSlots;
  /** The simulated parts, for whoever plays the hardware (tests press buttons, read LEDs, see bites). */
  readonly sim: { readonly panel?: SimGpioChip; readonly watchdog?: SimWatchdog };
  /** Releases what the drivers hold (sockets, child processes), in reverse order of building. */
  close(): Promise<void>;
}

/**
 * The one place drivers are constructed (principle 1: boards pick drivers, services receive them).
 * A board that runs in a network namespace must be started inside it (`ip netns exec <ns> …`): raw
 * sockets and nft act on the caller's namespace, so a process elsewhere would drive the wrong box.
 */
export function buildDrivers(board: Board, options: { nsCheck?: (netns: string) => boolean } = {}): Drivers {
  if (board.netns !== null && !(options.nsCheck ?? isInNetns)(board.netns)) {
    throw new BoardError(
      'BOARD_INVALID',
      `board ${board.name} runs in network namespace ${board.netns}: start this process with ip netns exec ${board.netns}`,
      { field: 'netns' },
    );
  }
  if (board.serial.heartbeat.driver === 'sim' || board.serial.console.driver === 'sim') {
    throw new BoardError(
      'BOARD_INVALID',
      `board ${board.name}: a simulated serial port needs a simulated cable; build SimSerialDriver in the test world`,
      { field: 'serial' },
    );
  }
  const clock: Clock = new LinuxClock();
  const panel =
    board.gpio.driver === 'sim'
      ? new SimGpioChip({ name: board.gpio.chip, lines: panelLineNames(board), clock })
      : undefined;
  const simWatchdog =
    board.watchdog.driver === 'sim'
      ? new SimWatchdog({ clock, device: board.watchdog.device, initialTimeoutS: board.watchdog.timeoutS })
      : undefined;
  const pinger = new LinuxPinger({ clock });
  const net = new LinuxNet({ clock });
  const packetFilter = new NftPacketFilter();
  const conntrack = new LinuxConntrack();
  return {
    board,
    clock,
    serial: new LinuxSerialDriver(),
    gpio: panel ? new SimGpioDriver([panel]) : new LinuxGpioDriver({ clock }),
    net,
    pinger,
    packetFilter,
    conntrack,
    watchdog: simWatchdog ?? new LinuxWatchdog(),
    bootSlots:
      board.bootSlots.driver === 'sim'
        ? new SimBootSlots({ name: board.bootSlots.envPath })
        : new GrubBootSlots({ envPath: board.bootSlots.envPath, cmdlinePath: board.bootSlots.cmdlinePath }),
    sim: { ...(panel ? { panel } : {}), ...(simWatchdog ? { watchdog: simWatchdog } : {}) },
    close: async () => {
      await conntrack.close();
      await packetFilter.close();
      await net.close();
      await pinger.close();
    },
  };
}

/** Line names for a simulated panel chip: each role's name at its offset (like a DT gpio-line-names). */
export function panelLineNames(board: Board): (string | undefined)[] {
  const roles: [string, number][] = [
    ...Object.entries(board.gpio.leds).map(([k, v]): [string, number] => [`led-${kebab(k)}`, v.line]),
    ...Object.entries(board.gpio.buttons).map(([k, v]): [string, number] => [`button-${kebab(k)}`, v.line]),
    ...(board.gpio.peerFence ? [['peer-fence', board.gpio.peerFence.line] as [string, number]] : []),
  ];
  const count = Math.max(16, ...roles.map(([, line]) => line + 1));
  const names: (string | undefined)[] = Array.from({ length: count }, () => undefined);
  for (const [name, line] of roles) names[line] = name;
  return names;
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** True when this process is in the named namespace (/run/netns/<name> is a bind mount of its nsfs inode). */
function isInNetns(name: string): boolean {
  try {
    const mine = statSync('/proc/self/ns/net');
    const named = statSync(`/run/netns/${name}`);
    return mine.ino === named.ino && mine.dev === named.dev;
  } catch {
    return false;
  }
}
