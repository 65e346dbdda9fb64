import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../src/config';

describe('DEPLOYMENT.md', () => {
  it('documents every variable the API reads', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../../DEPLOYMENT.md'), 'utf8');
    for (const name of [...ENV_NAMES, 'PACS_MSSQL_TRUST_CERT']) expect(doc, name).toContain(`\`${name}\``);
  });
});
