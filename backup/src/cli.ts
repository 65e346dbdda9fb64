/**
 * `npm run backup -- DIR` and `npm run restore -- DIR [--replace]` (DEPLOYMENT.md, Backups), with
 * the installation's own variables (PACS_DATA_DIR, DATABASE_URL, PACS_ORTHANC_STORAGE_DIR,
 * PACS_ORTHANC_INDEX_URL). Exit status 0 done, 1 failed, 2 refused (nothing changed).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backup } from './backup';
import { BackupError, installationFromEnv } from './installation';
import { restore } from './restore';

const USAGE = 'usage: backup DIR | restore DIR [--replace]';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: { replace: { type: 'boolean' } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: { replace: { type: 'boolean' } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, dir, ...extra] = parsed.positionals;
  if (!dir || extra.length > 0 || (command !== 'backup' && command !== 'restore') || (command === 'backup' && parsed.values.replace)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const say = (line: string) => process.stdout.write(`${command}: ${line}\n`);
  try {
    const installation = installationFromEnv();
    // npm runs scripts in the repository; a relative DIR means the folder the operator typed it in.
    const folder = path.resolve(process.env.INIT_CWD ?? process.cwd(), dir);
    if (command === 'backup') await backup(installation, folder, say);
    else await restore(installation, folder, parsed.values.replace === true, say);
    return 0;
  } catch (error) {
    process.stderr.write(`${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof BackupError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
