/**
 * Console passwords: scrypt (node:crypto) with a random salt, stored as a PHC string that carries its own
 * parameters, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64 without padding), so the cost can be raised
 * later without breaking stored hashes.
 */
import { randomBytes as cryptoRandomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { ConfigError } from './errors.ts';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
}

/** About 0.1 s and 32 MiB on the appliance's CPU: slow for a guesser, unnoticeable at a login. */
export const DEFAULT_SCRYPT: ScryptParams = { ln: 15, r: 8, p: 1 };

const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{22,88})$/;

/** Reads a stored hash; CONFIG_BAD_HASH says what is wrong with it (never echoing the hash itself). */
export function parseHash(text: string): ParsedHash {
  const m = PHC.exec(text);
  if (!m) {
    throw new ConfigError(
      'CONFIG_BAD_HASH',
      'expected $scrypt$ln=<n>,r=<n>,p=<n>$<salt base64>$<hash base64>',
    );
  }
  const params: ScryptParams = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  checkParams(params);
  const salt = Buffer.from(m[4] as string, 'base64');
  const hash = Buffer.from(m[5] as string, 'base64');
  if (salt.length < 8)
    throw new ConfigError('CONFIG_BAD_HASH', `salt of ${salt.length} bytes, expected 8 or more`);
  if (hash.length < 16)
    throw new ConfigError('CONFIG_BAD_HASH', `hash of ${hash.length} bytes, expected 16 or more`);
  return { params, salt, hash };
}

/** True when `text` is a hash `parseHash` accepts. */
export function isPasswordHash(text: string): boolean {
  try {
    parseHash(text);
    return true;
  } catch {
    return false;
  }
}

function checkParams(params: ScryptParams): void {
  for (const key of ['ln', 'r', 'p'] as const) {
    const [min, max] = LIMITS[key];
    const v = params[key];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError('CONFIG_BAD_HASH', `scrypt ${key}=${v}, expected ${min}..${max}`);
    }
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      length,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

/** Hashes `password` with a fresh salt. */
export async function hashPassword(
  password: string,
  options: { params?: ScryptParams; randomBytes?: (n: number) => Buffer } = {},
): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new ConfigError('CONFIG_BAD_ARGUMENT', 'password must be a non-empty string');
  }
  const params = options.params ?? DEFAULT_SCRYPT;
  checkParams(params);
  const salt = (options.randomBytes ?? cryptoRandomBytes)(SALT_BYTES);
  const hash = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

/** True when `password` matches `stored`; CONFIG_BAD_HASH when `stored` is not a usable hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { params, salt, hash } = parseHash(stored);
  const candidate = await derive(password, salt, params, hash.length);
  return timingSafeEqual(candidate, hash);
}
