import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createHttpAgent, trustedCertificates } from '../../src/graph/http-agent.ts';
import type { Logger } from '../../src/logger.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pf-agent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('trustedCertificates', () => {
  it('is Node roots when nothing extra is configured', () => {
    expect(trustedCertificates({ env: {} })).toEqual([...tls.rootCertificates]);
  });
  it('adds an explicit PEM', () => {
    const certs = trustedCertificates({ extraCaPem: PEM, env: {} });
    expect(certs).toHaveLength(tls.rootCertificates.length + 1);
    expect(certs.at(-1)).toBe(PEM);
  });
  it('reads NODE_EXTRA_CA_CERTS at call time (not at process start)', () => {
    const file = path.join(dir, 'ca.pem');
    writeFileSync(file, PEM);
    expect(trustedCertificates({ env: { NODE_EXTRA_CA_CERTS: file } }).at(-1)).toBe(PEM);
  });
  it('explicit PEM wins over the environment', () => {
    const certs = trustedCertificates({ extraCaPem: 'X', env: { NODE_EXTRA_CA_CERTS: '/nope' } });
    expect(certs.at(-1)).toBe('X');
  });
  it('a missing NODE_EXTRA_CA_CERTS file warns and falls back (like Node)', () => {
    const warn = vi.fn();
    const certs = trustedCertificates({
      env: { NODE_EXTRA_CA_CERTS: path.join(dir, 'missing.pem') },
      logger: { warn } as unknown as Logger,
    });
    expect(certs).toHaveLength(tls.rootCertificates.length);
    expect(warn).toHaveBeenCalledOnce();
  });
  it('a missing explicit extraCaPath throws', () => {
    expect(() => trustedCertificates({ extraCaPath: path.join(dir, 'missing.pem') })).toThrow(/cannot read CA file/);
  });
});

describe('createHttpAgent', () => {
  it('builds an Agent that can be closed', async () => {
    const agent = createHttpAgent({ connectionsPerOrigin: 4, connectTimeoutMs: 1000, env: {} });
    await agent.close();
  });
});
