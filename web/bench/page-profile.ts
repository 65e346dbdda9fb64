/**
 * BENCH_PROFILE=DIR: a page's V8 CPU profile and Chromium trace over one measure, written as
 * NAME.cpuprofile and NAME.trace.json (build the app with `--minify false` to read function names).
 * Without the variable it does nothing.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

/** Starts profiling `page` when BENCH_PROFILE is set; the returned function stops and writes both files. */
export async function startPageProfile(page: Page, name: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return async () => undefined;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,blink.user_timing', transferMode: 'ReturnAsStream' });
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    const complete = new Promise<string>((resolve) => cdp.once('Tracing.tracingComplete', (event) => resolve(event.stream!)));
    await cdp.send('Tracing.end');
    const stream = await complete;
    let trace = '';
    for (;;) {
      const chunk = await cdp.send('IO.read', { handle: stream });
      trace += chunk.data;
      if (chunk.eof) break;
    }
    await cdp.send('IO.close', { handle: stream });
    writeFileSync(path.join(dir, `${name}.trace.json`), trace);
    await cdp.detach();
  };
}
