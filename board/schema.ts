import { z } from 'zod';
import type { Board, BoardFeature } from './types.ts';

const face = z.enum(['linux', 'sim']);
const absolutePath = z.string().regex(/^\//, 'must be an absolute path');
const ifname = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name of 1 to 15 letters, digits, "_", "." or "-"');
const baudRate = z
  .number()
  .int()
  .refine((b) => [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600].includes(b), {
    message: 'must be a standard baud rate (9600 … 921600)',
  });
const serialRole = z.strictObject({ driver: face, path: absolutePath, baudRate });
const line = z.strictObject({ line: z.number().int().min(0).max(1023), activeLow: z.boolean() });
const features = [
  'serial-heartbeat',
  'console',
  'panel',
  'peer-fence',
  'hardware-watchdog',
  'ab-boot',
  'nftables',
  'ipvs',
  'realtime-scheduling',
] as const satisfies readonly BoardFeature[];

export const boardSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, "-" or "_"'),
    description: z.string().min(1),
    serial: z.strictObject({ heartbeat: serialRole, console: serialRole }),
    nics: z.strictObject({
      client: ifname,
      server: ifname,
      heartbeat: ifname,
      management: ifname.nullable(),
    }),
    gpio: z.strictObject({
      driver: face,
      chip: z.string().min(1),
      leds: z.strictObject({
        power: line,
        active: line,
        standby: line,
        fault: line,
        serialLink: line,
        ethLink: line,
      }),
      buttons: z.strictObject({ failover: line, reset: line }),
      peerFence: line.nullable(),
      debounceMs: z.number().min(0).max(1000),
    }),
    watchdog: z.strictObject({
      driver: face,
      device: absolutePath,
      timeoutS: z.number().int().min(1).max(600),
    }),
    bootSlots: z.strictObject({
      driver: face,
      envPath: absolutePath,
      cmdlinePath: absolutePath,
      slotA: absolutePath,
      slotB: absolutePath,
    }),
    storage: z.strictObject({
      journalPath: absolutePath,
      contentCache: absolutePath,
      contentMount: absolutePath,
    }),
    clock: face,
    netns: z.string().min(1).nullable(),
    supports: z.array(z.enum(features)),
  })
  .superRefine((board, ctx) => {
    const roles = [board.nics.client, board.nics.server, board.nics.heartbeat, board.nics.management];
    const named = roles.filter((r): r is string => r !== null);
    if (new Set(named).size !== named.length) {
      ctx.addIssue({ code: 'custom', path: ['nics'], message: 'each NIC role needs its own interface' });
    }
    const lines = [
      ...Object.entries(board.gpio.leds).map(([k, v]) => [`leds.${k}`, v.line] as const),
      ...Object.entries(board.gpio.buttons).map(([k, v]) => [`buttons.${k}`, v.line] as const),
      ...(board.gpio.peerFence ? [['peerFence', board.gpio.peerFence.line] as const] : []),
    ];
    const seen = new Map<number, string>();
    for (const [role, offset] of lines) {
      const other = seen.get(offset);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['gpio', ...role.split('.')],
          message: `line ${offset} is already used by gpio.${other}`,
        });
      }
      seen.set(offset, role);
    }
    if (board.serial.heartbeat.path === board.serial.console.path) {
      ctx.addIssue({
        code: 'custom',
        path: ['serial', 'console', 'path'],
        message: 'is the heartbeat port too',
      });
    }
    if (board.supports.includes('peer-fence') && board.gpio.peerFence === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['supports'],
        message: 'lists peer-fence but gpio.peerFence is null',
      });
    }
  }) satisfies z.ZodType<Board>;
