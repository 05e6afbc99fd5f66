/**
 * A board says which device plays each role on one machine and which driver face (linux or sim) runs
 * it. Services ask for a role ("the heartbeat serial port"), never for a device. A board is data: the
 * entry point turns it into driver instances (board/wiring.ts) and hands them to the services.
 */
export type DriverFace = 'linux' | 'sim';

export interface SerialRole {
  driver: DriverFace;
  /** Device path (/dev/ttyS1) or, on the sim board, the testbed's pty symlink. */
  path: string;
  baudRate: number;
}

export interface GpioLineRole {
  /** Line offset on the board's GPIO chip. */
  line: number;
  activeLow: boolean;
}

export interface PanelLeds {
  power: GpioLineRole;
  active: GpioLineRole;
  standby: GpioLineRole;
  fault: GpioLineRole;
  serialLink: GpioLineRole;
  ethLink: GpioLineRole;
}

export interface PanelButtons {
  failover: GpioLineRole;
  reset: GpioLineRole;
}

export interface GpioRoles {
  driver: DriverFace;
  /** Chip name or path (gpiochip1, /dev/gpiochip1). */
  chip: string;
  leds: PanelLeds;
  buttons: PanelButtons;
  /** Output that cuts the peer's power or holds it in reset (STONITH); null where the board has none. */
  peerFence: GpioLineRole | null;
  debounceMs: number;
}

export interface NicRoles {
  /** Faces the clients; carries the virtual IPs. */
  client: string;
  /** Faces the real servers. */
  server: string;
  /** Dedicated crossover link to the peer appliance. */
  heartbeat: string;
  /** Out-of-band management (metrics, status page); null where the board has none. */
  management: string | null;
}

export interface WatchdogRole {
  driver: DriverFace;
  device: string;
  timeoutS: number;
}

export interface BootSlotsRole {
  driver: DriverFace;
  /** The bootloader environment (GRUB environment block). */
  envPath: string;
  /** Where the booted slot is read from (kernel command line). */
  cmdlinePath: string;
  /** Block devices of the two root slots. */
  slotA: string;
  slotB: string;
}

export interface StorageRoles {
  /** The SQLite checkpoint journal (on the persistent data partition). */
  journalPath: string;
  /** The content client's cache directory. */
  contentCache: string;
  /** Where the content is mounted for the web services. */
  contentMount: string;
}

/** Capabilities tests and services may ask about (like Zephyr's board yaml `supported`). */
export type BoardFeature =
  | 'serial-heartbeat'
  | 'console'
  | 'panel'
  | 'peer-fence'
  | 'hardware-watchdog'
  | 'ab-boot'
  | 'nftables'
  | 'ipvs'
  | 'realtime-scheduling';

export interface Board {
  /** Short identifier: `tandem-1u`, `qemu-x86_64`, `sim`. */
  name: string;
  description: string;
  serial: { heartbeat: SerialRole; console: SerialRole };
  nics: NicRoles;
  gpio: GpioRoles;
  watchdog: WatchdogRole;
  bootSlots: BootSlotsRole;
  storage: StorageRoles;
  /** The clock every service runs on: the host's monotonic clock or a simulated one. */
  clock: DriverFace;
  /** The network namespace the appliance runs in (the sim board); null on real hardware. */
  netns: string | null;
  supports: readonly BoardFeature[];
}
