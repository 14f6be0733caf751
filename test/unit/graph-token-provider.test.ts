import { generateKeyPairSync, X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { GraphError } from '../../src/graph/errors.ts';
import { buildMsalConfiguration, loadClientCertificateFile } from '../../src/graph/token-provider.ts';
import { silentLogger } from '../../src/logger.ts';

/** A self-signed client certificate; keys from Node (fast), X.509 from forge. */
function makeClientCert(opts: { rsaPkcs1?: boolean; passphrase?: string } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'provflow-test' }]);
  cert.setIssuer([{ name: 'commonName', value: 'provflow-test' }]);
  cert.sign(
    forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    forge.md.sha256.create(),
  );
  const certPem = forge.pki.certificateToPem(cert);
  const keyPem = opts.passphrase
    ? privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: opts.passphrase }).toString()
    : privateKey.export({ type: opts.rsaPkcs1 ? 'pkcs1' : 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, publicKey };
}

describe('loadClientCertificateFile', () => {
  it('computes SHA-256 and SHA-1 thumbprints of the DER certificate and normalises the key to PKCS#8', () => {
    const { certPem, keyPem } = makeClientCert({ rsaPkcs1: true });
    const c = loadClientCertificateFile({ pem: keyPem + certPem });
    const der = new X509Certificate(certPem).raw;
    expect(c.thumbprintSha256).toBe(createHash('sha256').update(der).digest('hex').toUpperCase());
    expect(c.thumbprintSha256).toBe(new X509Certificate(certPem).fingerprint256.replaceAll(':', ''));
    expect(c.thumbprintSha1).toBe(new X509Certificate(certPem).fingerprint.replaceAll(':', ''));
    expect(c.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(c.certificatePem).toContain('BEGIN CERTIFICATE');
  });
  it('accepts the certificate before the key', () => {
    const { certPem, keyPem } = makeClientCert();
    expect(() => loadClientCertificateFile({ pem: certPem + keyPem })).not.toThrow();
  });
  it('decrypts an encrypted key with the passphrase, and says so when it is missing', () => {
    const { certPem, keyPem } = makeClientCert({ passphrase: 'pw' });
    expect(loadClientCertificateFile({ pem: keyPem + certPem, passphrase: 'pw' }).privateKeyPem).toContain(
      'BEGIN PRIVATE KEY',
    );
    expect(() => loadClientCertificateFile({ pem: keyPem + certPem })).toThrow(
      /encrypted: set AZURE_CLIENT_CERTIFICATE_PASSWORD/,
    );
  });
  it.each([
    ['no certificate', (k: string, _c: string) => k, /no "BEGIN CERTIFICATE"/],
    ['no key', (_k: string, c: string) => c, /no "BEGIN PRIVATE KEY"/],
  ])('%s', (_n, build, re) => {
    const { certPem, keyPem } = makeClientCert();
    expect(() => loadClientCertificateFile({ pem: build(keyPem, certPem) })).toThrow(re);
  });
  it('a key that does not belong to the certificate is refused', () => {
    const a = makeClientCert();
    const b = makeClientCert();
    expect(() => loadClientCertificateFile({ pem: a.keyPem + b.certPem })).toThrow(/does not belong/);
  });
  it('an unreadable file is named, and no key material is printed', () => {
    expect(() => loadClientCertificateFile({ path: '/nonexistent/cert.pem' })).toThrow(
      /\/nonexistent\/cert.pem: ENOENT/,
    );
  });
});

describe('buildMsalConfiguration', () => {
  const dispatcher = new Agent();
  const base = { tenantId: 't1', clientId: 'c1', dispatcher };

  it('declares a non-Microsoft authority host (with port) as known', () => {
    const cfg = buildMsalConfiguration(
      { ...base, clientSecret: 's', authorityHost: 'https://127.0.0.1:8443/' },
      silentLogger(),
    );
    expect(cfg.auth.authority).toBe('https://127.0.0.1:8443/t1');
    expect(cfg.auth.knownAuthorities).toEqual(['127.0.0.1:8443']);
    expect(cfg.system?.networkClient).toBeDefined();
  });
  it('leaves Microsoft hosts to MSAL instance discovery', () => {
    const cfg = buildMsalConfiguration({ ...base, clientSecret: 's' }, silentLogger());
    expect(cfg.auth.authority).toBe('https://login.microsoftonline.com/t1');
    expect(cfg.auth.knownAuthorities).toBeUndefined();
  });
  it('certificate: thumbprintSha256 + PKCS#8 key + x5c', () => {
    const { certPem, keyPem } = makeClientCert();
    const cfg = buildMsalConfiguration({ ...base, certificatePem: keyPem + certPem }, silentLogger());
    expect(cfg.auth.clientCertificate?.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    expect(cfg.auth.clientCertificate?.thumbprint).toBeUndefined();
    expect(createPrivateKey(cfg.auth.clientCertificate!.privateKey).asymmetricKeyType).toBe('rsa');
    expect(cfg.auth.clientSecret).toBeUndefined();
  });
  it.each([
    ['neither', {}],
    ['both', { clientSecret: 's', certificatePath: '/x.pem' }],
  ])('%s credential → permanent GraphError', (_n, creds) => {
    let err: unknown;
    try {
      buildMsalConfiguration({ ...base, ...creds }, silentLogger());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GraphError);
    expect((err as GraphError).errorClass).toBe('permanent');
  });
});
