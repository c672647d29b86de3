import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface SelfSignedCert {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/** A self-signed certificate for CN=localhost / IP 127.0.0.1, made with openssl (~30 ms). */
export function selfSignedCert(dir: string, cn = 'localhost'): SelfSignedCert {
  fs.mkdirSync(dir, { recursive: true });
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn},IP:127.0.0.1`,
      '-keyout', keyPath, '-out', certPath],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certPath, keyPath, cert: fs.readFileSync(certPath, 'utf8'), key: fs.readFileSync(keyPath, 'utf8') };
}
