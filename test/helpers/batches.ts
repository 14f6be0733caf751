/** Batches built in code for end-to-end tests (the file format is tested in the batch unit tests). */
import { randomBytes } from 'node:crypto';
import type { Batch, BatchInstance, ExpectedOutcome } from '../../src/batch/batch-types.ts';
import { instanceKeyOf } from '../../src/batch/instance-key.ts';

export function instance(
  i: number,
  displayName: string,
  token = `tok-${randomBytes(4).toString('hex')}`,
  expect: ExpectedOutcome = 'steady',
): BatchInstance {
  return {
    index: i,
    instanceKey: instanceKeyOf(displayName),
    displayName,
    applicationTemplate: { displayName: 'AWS Single-Account Access' },
    synchronizationTemplateId: 'aws',
    credentials: [
      { key: 'ClientSecret', value: `cs-PLANTED-${randomBytes(6).toString('hex')}` },
      { key: 'SecretToken', value: token },
    ],
    credentialSources: [
      { key: 'ClientSecret', source: 'value' },
      { key: 'SecretToken', source: 'value' },
    ],
    expect,
  };
}

export function batchOf(batchId: string, instances: BatchInstance[]): Batch {
  return { batchId, sourceFile: '(test)', instances };
}

export function simpleBatch(
  batchId: string,
  n: number,
  name = (i: number) => `AWS Test ${String(i).padStart(4, '0')}`,
): Batch {
  return batchOf(
    batchId,
    Array.from({ length: n }, (_, i) => instance(i, name(i))),
  );
}
