/**
 * Certificates for tests of TLS peers (the audit repository, the identity provider), made with
 * openssl in the test's own folder: a CA and a server and a client certificate it signed.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA named `name` and a server and a client certificate it signed (server valid for 127.0.0.1 and localhost). */
export function makePki(dir: string, name = 'test'): Pki {
  const file = (base: string) => path.join(dir, `${name}-${base}`);
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-keyout',
    file('ca-key.pem'),
    '-out',
    file('ca.pem'),
  ]);
  for (const [who, extensions] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(file(`${who}.ext`), `${extensions}\n`);
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}-${who}`,
      '-keyout',
      file(`${who}-key.pem`),
      '-out',
      file(`${who}.csr`),
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      file(`${who}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${who}.ext`),
      '-out',
      file(`${who}.pem`),
    ]);
  }
  return {
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server-key.pem'),
    clientCert: file('client.pem'),
    clientKey: file('client-key.pem'),
  };
}
