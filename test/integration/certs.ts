import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './harness.js';

/** PEM files made for one test: a CA, a server and a worker certificate it signed, and an unrelated CA. */
export interface TestCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  workerCert: string;
  workerKey: string;
  otherCa: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
}

function leaf(dir: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
}

/** Makes the certificates with the openssl CLI (the server's names: 127.0.0.1 and localhost). */
export function makeCerts(): TestCerts {
  const dir = tempDir('builder-certs-');
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'other-ca');
  leaf(dir, 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf(dir, 'worker', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string) => join(dir, f);
  return { ca: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key'), workerCert: p('worker.pem'), workerKey: p('worker.key'), otherCa: p('other-ca.pem') };
}
