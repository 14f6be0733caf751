/**
 * `provflow plan` with onboarding fields, through the real CLI against the simulator: groups are
 * resolved once for the batch and an unknown one makes its instance an error row naming it; the
 * schema edits are shown as a diff against the job's schema when the app and its job exist.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.ts';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';
import { startLocalStack, type LocalStack } from '../../src/dev/local-stack.ts';
import { enqueueBatch } from '../../src/flow/enqueue-batch.ts';
import { startStepsWorker } from '../../src/flow/steps-worker.ts';
import { silentLogger } from '../../src/logger.ts';
import { batchOf } from '../helpers/batches.ts';
import { waitForStates } from '../helpers/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let stack: LocalStack;
let rt: Runtime;
let worker: Worker;

beforeAll(async () => {
  stack = await startLocalStack({ profile: 'fast', timeScale: 50 });
  rt = await stack.runtime(silentLogger());
  worker = startStepsWorker(rt, { concurrency: 5 });
  // An existing SCIM app with a started job: plan must diff its schema.
  await enqueueBatch(
    rt,
    batchOf('plan-onb-existing', [
      {
        index: 0,
        instanceKey: instanceKeyOf('SCIM Existing'),
        displayName: 'SCIM Existing',
        applicationTemplate: { displayName: 'SCIM Example App' },
        synchronizationTemplateId: 'scim',
        credentials: [
          { key: 'BaseAddress', value: 'https://scim.example.com/v2' },
          { key: 'SecretToken', value: 'tok-plan' },
        ],
        credentialSources: [],
        expect: 'steady',
      },
    ]),
  );
  await waitForStates(rt.ledger, 'plan-onb-existing', ['started', 'steady', 'failed'], 120_000);
}, 180_000);

afterAll(async () => {
  await worker?.close();
  await rt?.close();
  await stack?.close();
});

function plan(doc: unknown, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'provflow-plan-onb-'));
  const file = path.join(dir, 'plan-onb.json');
  writeFileSync(file, JSON.stringify(doc));
  const args = [path.join(ROOT, 'bin/provflow.js'), 'plan', file, ...(json ? ['--json'] : [])];
  const env = { ...process.env, ...stack.env, COLUMNS: '250' };
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('provflow plan with onboarding fields', () => {
  it('reports an unknown group for its instance, and shows the schema diff of an existing job', async () => {
    const r = await plan(
      {
        defaults: {
          applicationTemplate: 'SCIM Example App',
          credentials: { BaseAddress: { value: 'https://scim.example.com/v2' }, SecretToken: { value: 'x' } },
          settings: { scope: 'assigned' },
          schema: { User: { mappings: { displayName: { expression: 'Join(" ", [givenName], [surname])' } } } },
        },
        instances: [
          { displayName: 'SCIM Existing', assignments: [{ group: 'Sales' }] },
          { displayName: 'SCIM New', assignments: [{ group: 'Sales' }] },
          { displayName: 'SCIM Bad Group', assignments: [{ group: 'No Such Group' }] },
        ],
      },
      true,
    );
    expect(r.code, r.stderr).toBe(1); // an error row: exit 1
    const out = JSON.parse(r.stdout) as {
      instances: { displayName: string; action: string; detail: string; onboarding?: string[] }[];
    };
    const row = Object.fromEntries(out.instances.map((i) => [i.displayName, i]));
    expect(row['SCIM Existing']!.action).toBe('adopt');
    expect(row['SCIM Existing']!.onboarding).toEqual([
      'settings SyncAll=false',
      "assign 'Sales' (default)",
      'User: change mapping Join(" ", [givenName], [surname]) → displayName',
    ]);
    expect(row['SCIM New']!.action).toBe('create');
    expect(row['SCIM New']!.onboarding).toContain(
      'User: mapping Join(" ", [givenName], [surname]) → displayName (checked at run time)',
    );
    expect(row['SCIM Bad Group']).toMatchObject({
      action: 'error',
      detail: "group 'No Such Group' does not exist in the tenant (no group with that id or display name)",
    });
  }, 150_000);
});
