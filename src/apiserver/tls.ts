// The API server speaks HTTPS only: kubectl (client-go) does not send a bearer token over plain HTTP.
// On first start a private CA and a serving certificate for 127.0.0.1/localhost are generated (ECDSA
// P-256, so it takes milliseconds) and kept in the data directory; the kubeconfig carries the CA.
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A fresh private CA and a serving certificate it signed for `hosts` (IPs and DNS names). */
export async function generateTls(
  hosts: string[],
  o: { subject?: string; validDays?: number; now?: Date } = {},
): Promise<TlsMaterial> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const now = o.now ?? new Date();
  const later = new Date(now.getTime() + (o.validDays ?? 10 * 365) * 24 * 3600 * 1000);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=sluice-ca',
    notBefore: now,
    notAfter: later,
    keys: caKeys as webcrypto.CryptoKeyPair,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ips = hosts.filter((h) => /^[\d.]+$|:/.test(h));
  const dns = hosts.filter((h) => !ips.includes(h));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: o.subject ?? 'CN=sluice-apiserver',
    issuer: ca.subject,
    notBefore: now,
    notAfter: later,
    signingKey: (caKeys as webcrypto.CryptoKeyPair).privateKey,
    publicKey: (keys as webcrypto.CryptoKeyPair).publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...ips.map((v) => ({ type: 'ip' as const, value: v })),
        ...dns.map((v) => ({ type: 'dns' as const, value: v })),
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', (keys as webcrypto.CryptoKeyPair).privateKey);
  return { caPem: ca.toString('pem') + '\n', certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', pkcs8) };
}

/** Loads the data directory's certificates, generating them on first use. */
export async function loadOrCreateTls(dataDir: string, hosts: string[]): Promise<TlsMaterial> {
  const files = { caPem: 'ca.crt', certPem: 'apiserver.crt', keyPem: 'apiserver.key' } as const;
  try {
    const [caPem, certPem, keyPem] = await Promise.all(
      Object.values(files).map((f) => readFile(join(dataDir, f), 'utf8')),
    );
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
  } catch {
    /* first start */
  }
  const m = await generateTls(hosts);
  await writeFile(join(dataDir, files.caPem), m.caPem);
  await writeFile(join(dataDir, files.certPem), m.certPem);
  await writeFile(join(dataDir, files.keyPem), m.keyPem, { mode: 0o600 });
  return m;
}
