/**
 * An unknown `synchronizationTemplateId` against the Graph simulator (which answers as Graph does:
 * 400 "The synchronization template '…' is not available for this application."):
 * - step 4 fails the instance at once with Graph's reason and the templates the app offers, instead
 *   of taking the 400 for replication lag for the whole replication window; real lag still waits;
 * - `provflow plan` lists an existing app's synchronization templates and flags the instance, and
 *   says "checked at run time" for an app still to be created.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import type { GraphApi } from '../../src/graph/graph-api.ts';
import { silentLogger } from '../../src/logger.ts';
import { AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';
import { createSyncJob } from '../../src/steps/create-sync-job.ts';
import { PermanentError } from '../../src/graph/errors.ts';
import { StepWait } from '../../src/steps/types.ts';
import { fakeDeps, INSTANCE, type FakeGraph } from '../helpers/fake-graph.ts';

let stack: LocalStack;
let rt: Runtime;
let graph: GraphApi;
let dir: string;

beforeAll(async () => {
  // Replication lag of 1.5-2 s: long enough to see the lag path, short enough to wait out.
  const overrides = { replicationLagMs: { min: 1500, max: 2000 } };
  stack = await startLocalStack({ profile: 'fast', timeScale: 1, overrides });
  rt = await stack.runtime(silentLogger());
  graph = rt.graph!;
  dir = mkdtempSync(path.join(os.tmpdir(), 'pf-synctpl-'));
});
afterAll(async () => {
  await rt?.close();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function visible(spId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await graph.getServicePrincipal(spId)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`servicePrincipal ${spId} never became visible`);
}

describe('an unknown synchronizationTemplateId', () => {
  it("waits while the servicePrincipal replicates, then fails at once with Graph's reason", async () => {
    const app = await graph.instantiateApplication(AWS_TEMPLATE_ID, 'Sync Template Typo');
    const { deps } = fakeDeps(graph as unknown as FakeGraph);
    const input = {
      instance: { ...INSTANCE, displayName: 'Sync Template Typo', synchronizationTemplateId: 'aws-typo' },
      prev: { servicePrincipalId: app.servicePrincipalId, createdAt: deps.now(), adopted: 'created' as const },
      state: {},
    };
    // Right after creation Graph cannot tell yet: that is lag, and the step waits.
    await expect(createSyncJob(deps, input)).rejects.toBeInstanceOf(StepWait);
    await visible(app.servicePrincipalId);
    // Still inside the replication window (the clock did not move), yet it fails now.
    const err = await createSyncJob(deps, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/synchronizationTemplateId 'aws-typo' is not a synchronization template of this app/);
    expect(msg).toMatch(/\(it offers 'aws'/);
    expect(msg).toMatch(/not available for this application/);
    expect(await graph.listSynchronizationJobs(app.servicePrincipalId)).toEqual([]);
    // The right id goes through.
    const right = { ...input.instance, synchronizationTemplateId: 'aws' };
    const ok = await createSyncJob(deps, { ...input, instance: right });
    expect(ok.jobId).toMatch(/^aws\./);
  }, 30_000);
});

describe('provflow plan checks synchronization templates', () => {
  function plan(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const args = [path.resolve('bin/provflow.js'), 'plan', file, '--json'];
      execFile(
        process.execPath,
        args,
        { env: { ...process.env, ...stack.env }, timeout: 60_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('flags an existing app not offering the id, confirms one that does, leaves a create to run time', async () => {
    for (const name of ['Plan Adopt Typo', 'Plan Adopt Right', 'Plan Adopt Default']) {
      const app = await graph.instantiateApplication(AWS_TEMPLATE_ID, name);
      await visible(app.servicePrincipalId);
    }
    // findApplications (a list) may lag the servicePrincipal read a little.
    const query = { displayName: 'Plan Adopt Default', applicationTemplateId: AWS_TEMPLATE_ID };
    const listed = async () => (await graph.findApplications(query)).length > 0;
    for (let i = 0; i < 50 && !(await listed()); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const cred = { SecretToken: { value: 'plan-token-not-real' }, ClientSecret: { value: 'plan-secret-not-real' } };
    const file = path.join(dir, 'plan.json');
    writeFileSync(
      file,
      JSON.stringify({
        defaults: { applicationTemplate: 'AWS Single-Account Access', credentials: cred },
        instances: [
          { displayName: 'Plan Adopt Typo', synchronizationTemplateId: 'aws-typo' },
          { displayName: 'Plan Adopt Right', synchronizationTemplateId: 'aws' },
          { displayName: 'Plan Adopt Default' },
          { displayName: 'Plan Brand New', synchronizationTemplateId: 'aws-typo' },
        ],
      }),
    );
    const r = await plan(file);
    if (!r.stdout.trim()) throw new Error(`plan printed nothing (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    const doc = JSON.parse(r.stdout) as { instances: { displayName: string; action: string; detail: string }[] };
    const [typo, right, rightDefault, create] = doc.instances;
    expect(typo).toMatchObject({ action: 'error' });
    expect(typo!.detail).toMatch(/synchronizationTemplateId 'aws-typo' is not offered by this app \(it offers 'aws'/);
    expect(right).toMatchObject({ action: 'adopt' });
    expect(right!.detail).toMatch(/synchronization template 'aws'$/);
    expect(rightDefault).toMatchObject({ action: 'adopt' });
    expect(rightDefault!.detail).toMatch(/synchronization template 'aws'$/);
    expect(create).toMatchObject({ action: 'create' });
    expect(create!.detail).toMatch(/synchronization template 'aws-typo' checked at run time/);
    expect(r.code).toBe(1); // an error row
    expect(r.stdout + r.stderr).not.toContain('plan-secret-not-real');
  }, 90_000);
});
