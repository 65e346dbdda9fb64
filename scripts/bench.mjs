/** `npm run bench`: the benchmark scripts; figures go into BENCHMARKS.md by hand, with the machine. */
import path from 'node:path';
import { ensurePnpm, installNodeModules, log, ROOT, run } from './bootstrap.mjs';

const BENCHMARKS = {
  'auth-audit': ['api', 'bench/auth-audit.ts'],
};

export async function bench(args) {
  const pnpm = ensurePnpm();
  installNodeModules(pnpm);
  const names = args.length > 0 ? args : Object.keys(BENCHMARKS);
  let status = 0;
  for (const name of names) {
    const entry = BENCHMARKS[name];
    if (!entry) {
      log(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
      return 2;
    }
    log(`── benchmark ${name}`);
    status ||= run(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [entry[1]], { cwd: path.join(ROOT, entry[0]) });
  }
  return status;
}
