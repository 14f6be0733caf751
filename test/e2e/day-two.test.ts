/**
 * Day-two commands end to end: the real CLI against the simulator, with real worker and poller
 * processes. Teardown (twice, and refusing an application the ledger holds no id for), staged
 * deletes and ForceDeletes, export and diff, verify, rotate with some bad values, and a worker
 * SIGKILLed in the middle of a rotation.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { silentLogger } from '../../src/logger.ts';
import { batchOf, instance, simpleBatch } from '../helpers/batches.ts';
import { waitFor, waitForStates } from '../helpers/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let stack: LocalStack;
let rt: Runtime;
let worker: ChildProcess;
let poller: ChildProcess;
let dir: string;

function cli(args: string[], timeoutMs = 170_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/provflow.js'), ...args],
      { cwd: ROOT, env: { ...process.env, ...stack.env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function steadyBatch(batchId: string, n: number) {
  await enqueueBatch(
    rt,
    simpleBatch(batchId, n, (i) => `${batchId} App ${i}`),
  );
  return waitForStates(rt.ledger, batchId, ['steady'], 120_000);
}

beforeAll(async () => {
  stack = await startLocalStack({
    profile: 'fast',
    timeScale: 50,
    // Short cycles so "the next cycle" (staged deletes, expiry) comes within a second.
    overrides: { firstCycleMs: 150, cycleIntervalMs: 400 },
    env: { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '8' },
  });
  rt = await stack.runtime(silentLogger());
  worker = stack.spawnProcess('worker');
  poller = stack.spawnProcess('poller');
  dir = await mkdtemp(path.join(tmpdir(), 'provflow-day2-'));
}, 60_000);

afterAll(async () => {
  await Promise.all([worker && kill(worker), poller && kill(poller)]);
  await rt?.close();
  await stack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('teardown', () => {
  it('dry run changes nothing; --yes removes; a second run changes nothing; an app the ledger holds no id for is refused', async () => {
    const good = [instance(0, 'Teardown App 0'), instance(1, 'Teardown App 1')];
    const orphan = { ...instance(2, 'Teardown Orphan'), applicationTemplate: { displayName: 'No Such App' } };
    await enqueueBatch(rt, batchOf('td', [...good, orphan]));
    await waitForStates(rt.ledger, 'td', ['steady', 'failed'], 120_000);
    // Someone creates an application with the failed instance's name by hand: not provflow's.
    const [tpl] = await rt.graph!.findApplicationTemplatesByName('AWS Single-Account Access');
    const byHand = await rt.graph!.instantiateApplication(tpl!.id, 'Teardown Orphan');
    const appsBefore = stack.sim.stats().applications;

    const refused = await cli(['teardown', 'td', '--yes', '--wait']);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stdout).toMatch(/Teardown Orphan.*refused/s);
    expect(refused.stderr).toMatch(/teardown refused for 'Teardown Orphan': nothing was changed/);
    const alone = await cli(['teardown', 'td', '--instance', 'Teardown Orphan', '--yes']);
    expect(alone.code).toBe(2);
    const dry = await cli(['teardown', 'td', '--instance', 'Teardown App 0']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing changed/);
    expect(stack.sim.stats().applications).toBe(appsBefore);

    const first = await cli(['teardown', 'td', '--instance', 'Teardown App 0', '--yes', '--purge', '--wait']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const second0 = await cli(['teardown', 'td', '--instance', 'Teardown App 1', '--yes', '--wait']);
    expect(second0.code, second0.stdout + second0.stderr).toBe(0);
    const rows = await rt.ledger.listInstances('td');
    expect(rows.filter((r) => r.state === 'removed').map((r) => r.displayName)).toEqual([
      'Teardown App 0',
      'Teardown App 1',
    ]);
    expect(await rt.graph!.getApplication(rows[0]!.applicationObjectId!)).toBeNull();
    expect(await rt.graph!.getDeletedApplication(rows[0]!.applicationObjectId!)).toBeNull(); // purged
    expect(await rt.graph!.getDeletedApplication(rows[1]!.applicationObjectId!)).not.toBeNull(); // soft-deleted
    expect(await rt.graph!.getApplication(byHand.applicationObjectId)).not.toBeNull(); // never touched

    const writes = stack.sim.stats().writes;
    for (const name of ['Teardown App 0', 'Teardown App 1']) {
      const again = await cli(['teardown', 'td', '--instance', name, '--yes', '--wait']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/already-removed/);
    }
    expect(stack.sim.stats().writes).toBe(writes);
  }, 240_000);
});

describe('staged deletes', () => {
  it('deletions lists them; restart --scope ForceDeletes shows the count and needs --confirm', async () => {
    const [row] = await steadyBatch('del', 1);
    stack.sim.stageDeletes({ jobId: row!.jobId!, count: 7, threshold: 5 });
    await waitFor(
      'TooManyDeletes quarantine',
      async () =>
        (await rt.graph!.getSynchronizationJob(row!.servicePrincipalId!, row!.jobId!))?.status?.quarantine?.reason ===
        'TooManyDeletes',
      60_000,
      200,
    );
    const list = await cli(['deletions', 'del', '--instance', row!.displayName, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const parsed = JSON.parse(list.stdout) as { quarantineReason: string; deletes: { source: string }[] };
    expect(parsed.quarantineReason).toBe('TooManyDeletes');
    expect(parsed.deletes.map((d) => d.source).sort()).toEqual(
      Array.from({ length: 7 }, (_, i) => `Departed User ${i}`).sort(),
    );
    const table = await cli(['deletions', 'del', '--instance', row!.displayName]);
    expect(table.stdout).toMatch(/7 staged delete\(s\)/);
    const noInstance = await cli(['deletions', 'del']);
    expect(noInstance.code).toBe(2);

    const unconfirmed = await cli(['restart', 'del', '--instance', row!.displayName, '--scope', 'ForceDeletes']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stdout).toMatch(/7 staged delete/);
    expect(unconfirmed.stderr).toMatch(/add --confirm/);
    const confirmed = await cli([
      'restart',
      'del',
      '--instance',
      row!.displayName,
      '--scope',
      'ForceDeletes',
      '--confirm',
    ]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    await waitForStates(rt.ledger, 'del', ['steady'], 60_000);
  }, 240_000);
});

describe('export and diff', () => {
  it('export is byte-for-byte stable and holds no credential value; diff exits 0 in sync, 3 on drift', async () => {
    const tokens = ['tok-exp-aaa1', 'tok-exp-bbb2'];
    const file = path.join(dir, 'exp.json');
    await writeFile(
      file,
      JSON.stringify({
        defaults: {
          applicationTemplate: 'AWS Single-Account Access',
          synchronizationTemplateId: 'aws',
          credentials: { ClientSecret: { value: 'cs-exp-secret-zz9' } },
        },
        instances: tokens.map((t, i) => ({
          displayName: `Export App ${i}`,
          credentials: { SecretToken: { value: t } },
        })),
      }),
    );
    const enq = await cli(['enqueue', file, '--batch-id', 'exp']);
    expect(enq.code, enq.stderr).toBe(0);
    const rows = await waitForStates(rt.ledger, 'exp', ['steady'], 120_000);

    const out1 = path.join(dir, 'export1');
    const out2 = path.join(dir, 'export2');
    expect((await cli(['export', 'exp', '--out', out1])).code).toBe(0);
    expect((await cli(['export', 'exp', '--out', out2])).code).toBe(0);
    const files = (await readdir(out1)).sort();
    expect(files).toEqual(rows.map((r) => `${r.instanceKey}.json`).sort());
    for (const f of files) {
      const a = await readFile(path.join(out1, f), 'utf8');
      expect(a).toBe(await readFile(path.join(out2, f), 'utf8'));
      for (const secret of [...tokens, 'cs-exp-secret-zz9']) expect(a).not.toContain(secret);
      const doc = JSON.parse(a) as { credentialKeys: string[]; job: { code: string } };
      expect(doc.credentialKeys).toEqual(['ClientSecret', 'SecretToken']);
      expect(Object.keys(doc)).toEqual([...Object.keys(doc)].sort());
    }
    expect((await cli(['export', 'exp'])).code).toBe(2);

    const inSync = await cli(['diff', 'exp', file, '--json']);
    expect(inSync.code, inSync.stdout + inSync.stderr).toBe(0);
    expect(JSON.parse(inSync.stdout)).toMatchObject({ drifted: 0, checked: 2 });

    // Someone pauses one job in the portal: drift, exit 3, named in the JSON and the table.
    await rt.graph!.pauseSynchronizationJob(rows[1]!.servicePrincipalId!, rows[1]!.jobId!);
    const drift = await cli(['diff', 'exp', file, '--json']);
    expect(drift.code).toBe(3);
    const d = JSON.parse(drift.stdout) as {
      drifted: number;
      instances: { displayName: string; status: string; differences: { field: string; actual: string }[] }[];
    };
    expect(d.drifted).toBe(1);
    const drifted = d.instances.find((x) => x.status === 'drifted')!;
    expect(drifted.displayName).toBe('Export App 1');
    expect(drifted.differences).toContainEqual(expect.objectContaining({ field: 'job.status', actual: 'paused' }));
    const table = await cli(['diff', 'exp', file]);
    expect(table.code).toBe(3);
    expect(table.stdout).toMatch(/Export App 1.*job\.status.*paused/);
    for (const secret of [...tokens, 'cs-exp-secret-zz9']) expect(drift.stdout + table.stdout).not.toContain(secret);
  }, 240_000);
});

/** A rotate file naming instances (defaults give the client secret). */
async function rotateFile(name: string, tokens: Record<string, string>): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(
    file,
    JSON.stringify({
      defaults: { credentials: { ClientSecret: { value: 'cs-rotated' } } },
      instances: Object.entries(tokens).map(([displayName, t]) => ({
        displayName,
        credentials: { SecretToken: { value: t } },
      })),
    }),
  );
  return file;
}

describe('rotate and verify', () => {
  it('bad input: exit 2, nothing enqueued', async () => {
    await steadyBatch('rbad', 1);
    const bad = path.join(dir, 'bad-rotate.json');
    await writeFile(
      bad,
      JSON.stringify({
        defaults: { applicationTemplate: 'AWS Single-Account Access' },
        instances: [{ displayName: 'Nobody', credentials: { SecretTokn: { value: 'x' } } }],
      }),
    );
    const r = await cli(['rotate', 'rbad', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/defaults\.applicationTemplate/);
    expect(r.stderr).toMatch(/holds only credentials/);
    expect(r.stderr).toMatch(/SecretTokn/);
    const unknown = await cli(['rotate', 'rbad', await rotateFile('unknown.json', { Nobody: 'tok-x' })]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no instance 'Nobody' in batch rbad/);
    expect((await rt.ledger.listInstances('rbad'))[0]!.op ?? null).toBeNull();
  }, 240_000);

  it('credentials in defaults only rotate every started instance of the batch', async () => {
    const rows = await steadyBatch('rall', 2);
    const file = path.join(dir, 'rotate-all.json');
    await writeFile(
      file,
      JSON.stringify({
        defaults: {
          credentials: { ClientSecret: { value: 'cs-all' }, SecretToken: { value: 'expires:2030-01-01:all-new' } },
        },
      }),
    );
    const r = await cli(['rotate', 'rall', file, '--wait', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { instances: { instance: string; result: string }[] };
    expect(res.instances.map((i) => i.result)).toEqual(['rotated', 'rotated']);
    expect(r.stdout + r.stderr).not.toMatch(/all-new|cs-all/);
    // Both now hold the new value: past its date, both fail verify.
    stack.sim.clock().set(Date.parse('2030-06-01T00:00:00Z'));
    const v = await cli(['verify', 'rall', '--wait', '--json']);
    const checks = JSON.parse(v.stdout) as { instances: { instance: string; result: string }[] };
    expect(checks.instances.map((i) => i.result)).toEqual(rows.map(() => 'failing'));
  }, 240_000);

  it('rotates the good values; the bad ones fail alone and keep their old, working credentials', async () => {
    const rows = await steadyBatch('rot', 4);
    const names = rows.map((r) => r.displayName);
    // New good values expire in 2031: moving the calendar past it tells new values from old.
    const file = await rotateFile('rot.json', {
      [names[0]!]: 'expires:2031-01-01:new-0',
      [names[1]!]: 'bad-new-1',
      [names[2]!]: 'expires:2031-01-01:new-2',
      [names[3]!]: 'bad-new-3',
    });
    const r = await cli(['rotate', 'rot', file, '--wait', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const res = JSON.parse(r.stdout) as { instances: { instance: string; result: string; detail: string }[] };
    const by = new Map(res.instances.map((i) => [i.instance, i]));
    expect([0, 1, 2, 3].map((i) => by.get(names[i]!)!.result)).toEqual(['rotated', 'failed', 'rotated', 'failed']);
    expect(by.get(names[1]!)!.detail).toMatch(/rejected the new credentials.*401 Unauthorized/);
    expect(r.stdout + r.stderr).not.toMatch(/bad-new|new-0|new-2|cs-rotated/);
    // Every saved set works (the failed ones kept theirs), then the calendar passes 2031.
    const ok = await cli(['verify', 'rot', '--wait', '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    await waitForStates(rt.ledger, 'rot', ['steady'], 60_000);
    stack.sim.clock().set(Date.parse('2031-06-01T00:00:00Z'));
    const v = await cli(['verify', 'rot', '--wait', '--json']);
    expect(v.code).toBe(1);
    const checks = JSON.parse(v.stdout) as { instances: { instance: string; result: string }[] };
    const result = new Map(checks.instances.map((i) => [i.instance, i.result]));
    expect(names.map((n) => result.get(n))).toEqual(['failing', 'ok', 'failing', 'ok']);
    // status shows it before the job quarantines.
    const st = await cli(['status', 'rot', '--json']);
    const inst = (JSON.parse(st.stdout) as { instances: { displayName: string; credentialsCheck: string }[] })
      .instances;
    expect(inst.find((i) => i.displayName === names[0])!.credentialsCheck).toBe('failing');
    // The expired ones quarantine at their next cycle; rotating them again restarts them to steady.
    await waitFor(
      'expired jobs quarantined',
      async () => {
        const job = await rt.graph!.getSynchronizationJob(rows[0]!.servicePrincipalId!, rows[0]!.jobId!);
        return job?.status?.code === 'Quarantine';
      },
      60_000,
      200,
    );
    const again = await cli([
      'rotate',
      'rot',
      await rotateFile('rot2.json', { [names[0]!]: 'tok-fresh-0', [names[2]!]: 'tok-fresh-2' }),
      '--wait',
    ]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const after = await waitForStates(rt.ledger, 'rot', ['steady'], 60_000);
    expect(after.every((x) => x.state === 'steady')).toBe(true);
  }, 300_000);

  it('a worker SIGKILLed mid-rotate leaves no instance with a partial secret set', async () => {
    const rows = await steadyBatch('rkill', 12);
    // Latency on every call keeps rotations in flight long enough to be killed inside them.
    stack.sim.configure({ latencyMs: { min: 80, max: 250 } });
    try {
      const tokens = Object.fromEntries(rows.map((r, i) => [r.displayName, `expires:2040-01-01:tok-kill-${i}`]));
      const r = await cli(['rotate', 'rkill', await rotateFile('rkill.json', tokens), '--json']);
      expect(r.code, r.stderr).toBe(0);
      let killedMidRun = 0;
      for (let i = 0; i < 3; i++) {
        const inFlight = await waitFor(
          'a rotation in flight',
          async () => {
            const all = await rt.ledger.listInstances('rkill');
            const ended = all.filter((x) => x.opState === 'done' || x.opState === 'failed').length;
            return ended < all.length ? 'yes' : 'ended';
          },
          60_000,
          20,
        );
        if (inFlight === 'ended') break;
        await new Promise((res) => setTimeout(res, 60 + i * 40));
        await kill(worker);
        killedMidRun++;
        worker = stack.spawnProcess('worker');
      }
      expect(killedMidRun).toBeGreaterThan(0);
      await waitFor(
        'the rotation run to end',
        async () => {
          const all = await rt.ledger.listInstances('rkill');
          return all.every((x) => x.opState === 'done' || x.opState === 'failed');
        },
        120_000,
        200,
      );
    } finally {
      stack.sim.configure({ latencyMs: { min: 0, max: 0 } });
    }
    const all = await rt.ledger.listInstances('rkill');
    expect(all.map((x) => [x.displayName, x.opState, x.opError ?? null])).toEqual(
      all.map((x) => [x.displayName, 'done', null]),
    );
    // A partial set (a required key missing) would fail validation of the saved credentials...
    const v = await cli(['verify', 'rkill', '--wait', '--json']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // ...and every instance holds the NEW set: past 2040 the new tokens expire, all of them.
    stack.sim.clock().set(Date.parse('2040-06-01T00:00:00Z'));
    const expired = await cli(['verify', 'rkill', '--wait', '--json']);
    const res = JSON.parse(expired.stdout) as { instances: { result: string }[] };
    expect(res.instances.map((x) => x.result)).toEqual(all.map(() => 'failing'));
  }, 300_000);

  it('PROVFLOW_VERIFY_INTERVAL_MS: the poller schedules verify; refused credentials reach status and a webhook before the job quarantines', async () => {
    const events: { type: string; displayName: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const e = JSON.parse(body) as { type: string; displayName: string };
        events.push({ type: e.type, displayName: e.displayName, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      await enqueueBatch(
        rt,
        batchOf('sched', [
          instance(0, 'Sched Fine', 'tok-sched-0'),
          instance(1, 'Sched Expiring', 'expires:2060-01-01:t'),
        ]),
      );
      await waitForStates(rt.ledger, 'sched', ['steady'], 120_000);
      // The webhook goes from the worker (the verify op) through the poller's events worker.
      await Promise.all([kill(worker), kill(poller)]);
      const env = { PROVFLOW_WEBHOOK_URL: url, PROVFLOW_VERIFY_INTERVAL_MS: '1000' };
      worker = stack.spawnProcess('worker', env);
      poller = stack.spawnProcess('poller', env);
      await waitFor(
        'a scheduled verify of both',
        async () => (await rt.ledger.listInstances('sched')).every((r) => r.credentialsCheck === 'ok'),
        60_000,
        200,
      );
      stack.sim.clock().set(Date.parse('2060-02-01T00:00:00Z'));
      await waitFor(
        'the credentials-failing webhook',
        async () => events.some((e) => e.type === 'instance.credentials-failing' && e.displayName === 'Sched Expiring'),
        60_000,
        200,
      );
      const rows = await rt.ledger.listInstances('sched');
      expect(rows.map((r) => r.credentialsCheck)).toEqual(['ok', 'failing']);
      expect(rows[1]!.credentialsError).toMatch(/expired/);
      const st = await cli(['status', 'sched']);
      expect(st.stdout).toMatch(/Sched Expiring.*credentials failing/s);
      for (const e of events) expect(e.body).not.toMatch(/tok-sched|expires:2060/);
      expect(events.filter((e) => e.displayName === 'Sched Fine' && e.type === 'instance.credentials-failing')).toEqual(
        [],
      );
    } finally {
      await new Promise((r) => server.close(() => r(undefined)));
    }
  }, 300_000);
});
