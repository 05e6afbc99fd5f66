/** Helpers for monitor tests on the testbed: the farm and check runner in namespaces, a test certificate. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineChild } from './line-child.ts';

const here = import.meta.dirname;
export const REPO = join(here, '..', '..', '..');

/** A node program of this repo started in namespace `ns` (`nodeArgs` go to node itself). */
export function inNamespace(
  ns: string,
  program: string,
  args: readonly string[] = [],
  nodeArgs: readonly string[] = [],
): string[] {
  return ['ip', 'netns', 'exec', ns, process.execPath, ...nodeArgs, '--import', 'tsx', program, ...args];
}

export function startFarm(ns: string): Promise<LineChild> {
  return LineChild.start(inNamespace(ns, join(here, 'farm.ts')), `farm in ${ns}`, { cwd: REPO });
}

export function startCheckRunner(ns: string): Promise<LineChild> {
  return LineChild.start(inNamespace(ns, join(here, 'check-child.ts')), `check runner in ${ns}`, {
    cwd: REPO,
  });
}

/** A self-signed certificate (P-256) for `name` in `dir`: returns the PEM texts and the cert's path. */
export function makeCertificate(dir: string, name: string): { cert: string; key: string; certPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath };
}
