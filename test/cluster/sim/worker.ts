/** One simulation worker: runs a slice of seeds and posts its summary (see parallel.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { runMany } from './runner.ts';

const { from, count } = workerData as { from: number; count: number };
parentPort?.postMessage(runMany(from, count));
