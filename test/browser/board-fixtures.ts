/**
 * Shared by the board's integration and browser tests: a board served on a free loopback port,
 * and a small provflow-shaped flow (provflow-steps → provflow-poll) whose job data, return
 * values, logs and failure reasons carry planted secrets the board must never show.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { createBoardApp, type BoardApp, type CreateBoardAppOptions } from '../../src/board/create-board-app.ts';
import { QUEUES } from '../../src/flow/queues.ts';

/** Every value that must never reach a board response or page. */
const PLANTED = {
  clientSecret: 's3cr3t-PLANT',
  sealed: 'v1.abcd1234.x.y.z',
  /** Prefix of every planted bearer token / JWT-ish value. */
  bearer: 'eyJplant',
} as const;

const PLANTED_VALUES: readonly string[] = Object.values(PLANTED);

/** Returns the planted values that occur in `text` (empty when clean). */
export function plantedIn(text: string): string[] {
  return PLANTED_VALUES.filter((v) => text.includes(v));
}

export const BOARD_USER = 'operator';
export const BOARD_PASS = 'correct horse battery staple';

/** A listening board for tests. */
export interface TestBoard extends BoardApp {
  base: string;
  stop(): Promise<void>;
}

/** Serves `createBoardApp(opts)` on 127.0.0.1 with a free port. */
export async function serveBoard(opts: CreateBoardAppOptions): Promise<TestBoard> {
  const board = createBoardApp(opts);
  const server: Server = await new Promise((resolve) => {
    const s = board.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    ...board,
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await board.close();
    },
  };
}

/** `Authorization` header value for Basic credentials. */
export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Ids of the planted jobs. */
export interface PlantedFlow {
  batchId: string;
  /** Flow root (provflow-poll) and its chain in provflow-steps, all completed. */
  rootId: string;
  startJobId: string;
  saveSecretsId: string;
  /** A provflow-steps job that failed with a bearer token and a sealed blob in its reason. */
  failedId: string;
}

async function waitForState(queue: Queue, id: string, state: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = await queue.getJob(id);
    const now = job ? await job.getState() : 'missing';
    if (now === state) return;
    if (Date.now() > end) throw new Error(`job ${id} is ${now}, expected ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Adds the planted flow and a failing job, runs them to completion with throwaway workers,
 * and closes the workers (so the board later sees none). Mirrors the real pipeline's shape:
 * the last step is the root, deepest child first; job ids `{batchId}.{instanceKey}.{step}`.
 */
export async function plantFlow(redisUrl: string, prefix: string): Promise<PlantedFlow> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const batchId = 'b-plant';
  const id = (key: string, step: string) => `${batchId}.${key}.${step}`;
  const credentials = [{ key: 'ClientSecret', value: PLANTED.clientSecret }];
  const process = async (job: Job) => {
    await job.log(
      `PUT /servicePrincipals/sp-1/synchronization/secrets with Authorization: Bearer ${PLANTED.bearer}.log`,
    );
    if (job.data.fail) {
      throw new Error(
        `Graph answered 400 to POST …/validateCredentials (Authorization: Bearer ${PLANTED.bearer}.fail; sealed ${PLANTED.sealed})`,
      );
    }
    await job.updateProgress({ step: job.name, token: `${PLANTED.bearer}.progress` });
    return {
      servicePrincipalId: 'sp-1',
      jobId: 'aws.0123456789abcdef',
      secretsSaved: true,
      accessToken: `${PLANTED.bearer}.ret`,
    };
  };
  const workers = [QUEUES.steps, QUEUES.poll].map(
    (name) => new Worker(name, process, { connection, prefix, concurrency: 4 }),
  );
  const flows = new FlowProducer({ connection, prefix });
  const steps = new Queue(QUEUES.steps, { connection, prefix });
  const poll = new Queue(QUEUES.poll, { connection, prefix });
  try {
    const instance = { batchId, instanceKey: 'acct-001', displayName: 'AWS acct-001' };
    await flows.add({
      name: 'watch',
      queueName: QUEUES.poll,
      data: { instance },
      opts: { jobId: id('acct-001', 'watch') },
      children: [
        {
          name: 'start-job',
          queueName: QUEUES.steps,
          data: { instance },
          opts: { jobId: id('acct-001', 'start-job') },
          children: [
            {
              name: 'save-secrets',
              queueName: QUEUES.steps,
              data: { instance, credentials, sealed: PLANTED.sealed, note: `sealed blob ${PLANTED.sealed}` },
              opts: { jobId: id('acct-001', 'save-secrets') },
            },
          ],
        },
      ],
    });
    const failedId = id('acct-002', 'validate-credentials');
    await steps.add(
      'validate-credentials',
      {
        instance: { ...instance, instanceKey: 'acct-002' },
        fail: true,
        credentials,
        authorization: `Bearer ${PLANTED.bearer}.data`,
      },
      { jobId: failedId, attempts: 1 },
    );
    await waitForState(poll, id('acct-001', 'watch'), 'completed');
    await waitForState(steps, failedId, 'failed');
    return {
      batchId,
      rootId: id('acct-001', 'watch'),
      startJobId: id('acct-001', 'start-job'),
      saveSecretsId: id('acct-001', 'save-secrets'),
      failedId,
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all([flows.close(), steps.close(), poll.close()]);
    await connection.quit();
  }
}
