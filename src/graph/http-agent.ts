/**
 * The one undici Agent every Graph and token call goes through: keep-alive connections and a
 * trust store of Node's root CAs plus an extra PEM.
 *
 * Why read NODE_EXTRA_CA_CERTS ourselves: Node reads it once at process start, so a process
 * that starts the simulator in-process (demo, tests) and then builds a client would not trust
 * the simulator's CA. We read the file when the Agent is built, which is after the simulator
 * wrote it. An explicit `extraCaPem` wins over the environment.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Agent } from 'undici';
import type { Logger } from '../logger.ts';

/** Options for `createHttpAgent`. */
export interface HttpAgentOptions {
  /** Max sockets per origin (Graph, login). Default 32. */
  connectionsPerOrigin?: number;
  /** TCP + TLS connect timeout. Default 10 s. */
  connectTimeoutMs?: number;
  /** How long an idle socket is kept. Default 30 s. */
  keepAliveTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM, one or more). */
  extraCaPem?: string;
  /** Path of a PEM file of extra CAs; defaults to `env.NODE_EXTRA_CA_CERTS`. */
  extraCaPath?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/**
 * Node's root certificates plus the extra CA, as `connect.ca` wants them. A missing
 * NODE_EXTRA_CA_CERTS file is a warning (as in Node); a missing explicit `extraCaPath` throws.
 */
export function trustedCertificates(
  opts: Pick<HttpAgentOptions, 'extraCaPem' | 'extraCaPath' | 'env' | 'logger'> = {},
): string[] {
  const roots = [...tls.rootCertificates];
  if (opts.extraCaPem) return [...roots, opts.extraCaPem];
  const explicit = opts.extraCaPath;
  const file = explicit ?? (opts.env ?? process.env).NODE_EXTRA_CA_CERTS;
  if (!file) return roots;
  try {
    return [...roots, readFileSync(file, 'utf8')];
  } catch (err) {
    if (explicit) throw new Error(`cannot read CA file ${file}: ${(err as Error).message}`);
    opts.logger?.warn(
      { file, err: (err as Error).message },
      'NODE_EXTRA_CA_CERTS file unreadable; using Node root CAs only',
    );
    return roots;
  }
}

/**
 * A keep-alive undici Agent trusting Node's roots plus the extra CA. Share one per process.
 *
 * The trust store is parsed once, into one TLS SecureContext: passing `ca` instead makes every
 * new connection parse the whole bundle (~145 PEM certificates) on the main thread — a burst of
 * 100 new connections then stalls the event loop long enough for BullMQ job locks to lapse
 * (docs/adr/0004-measurements-lint.md).
 */
export function createHttpAgent(opts: HttpAgentOptions = {}): Agent {
  return new Agent({
    connections: opts.connectionsPerOrigin ?? 32,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    keepAliveMaxTimeout: Math.max(opts.keepAliveTimeoutMs ?? 30_000, 60_000),
    connect: {
      secureContext: tls.createSecureContext({ ca: trustedCertificates(opts) }),
      timeout: opts.connectTimeoutMs ?? 10_000,
    },
  });
}
