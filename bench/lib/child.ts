/** Runs one benchmark module in its own process and writes its figures as JSON to the file in argv[3]. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchModule } from './figures.ts';

const [file, out] = process.argv.slice(2);
if (!file || !out) throw new TypeError('usage: child.ts <bench file> <figures.json>');
const mod = (await import(pathToFileURL(resolve(file)).href)) as Partial<BenchModule>;
if (typeof mod.run !== 'function') throw new TypeError(`${file} does not export run()`);
writeFileSync(out, JSON.stringify(await mod.run()));
