/**
 * Prove the instance with provisionOnDemand for the batch's canary (`smokeTest`): the rule id
 * comes from the job schema, Graph's answer is read (src/onboarding/smoke-test.ts) and recorded
 * in the ledger (status, board, webhooks read it there). Success passes, and so does Skipped
 * with RedundantExport (the canary is already provisioned as wanted); any other Skipped or a
 * Failure fails the instance with Graph's code and reason. A recorded pass is not re-run.
 */
import { refusedBy } from '../graph/classify-error.ts';
import { PermanentError } from '../graph/errors.ts';
import { describeOutcome, parseOnDemand, ruleIdFor, type SmokeOutcome } from '../onboarding/smoke-test.ts';
import type { InstanceIds, InstanceSpec, StepDeps, StepInput } from './types.ts';
import { defineStep, need, StepWait } from './types.ts';

function smokeTestPassed(o: SmokeOutcome): boolean {
  return o.result === 'Success' || (o.result === 'Skipped' && o.code === 'RedundantExport');
}

/** Only instances with a `smokeTest` are smoke-tested. */
const hasSmokeTest = (instance: InstanceSpec): boolean => !!instance.onboarding?.smokeTest;

export async function smokeTest(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const test = instance.onboarding?.smokeTest;
  if (!test || !hasSmokeTest(instance)) return prev;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  const done = await deps.store.get(instance, ['smokeTest', 'smokeTestPassed']);
  if (done.smokeTestPassed === '1' && done.smokeTest) return { ...prev, smokeTest: done.smokeTest };
  const type = test.type ?? 'User';
  let outcome: SmokeOutcome;
  try {
    const schema = await deps.graph.getSynchronizationSchema(spId, jobId);
    if (!schema) throw new StepWait(deps.settings.replicationPollMs, input.state, 'job schema not yet readable');
    const ruleId = ruleIdFor(schema, type);
    if (!ruleId)
      throw new PermanentError(
        `the job schema of '${instance.displayName}' has no rule that provisions ${type} objects ` +
          '(an import-only app such as AWS Single-Account Access cannot be smoke-tested): remove "smokeTest"',
      );
    const answer = await deps.graph.provisionOnDemand(spId, jobId, {
      ruleId,
      subject: test.subject,
      type,
      ...(test.members ? { members: test.members } : {}),
    });
    outcome = parseOnDemand(answer);
  } catch (err) {
    throw refusedBy(err, `Graph refused the smoke test of '${instance.displayName}'`);
  }
  const passed = smokeTestPassed(outcome);
  const text = describeOutcome(outcome);
  await deps.store.set(instance, { smokeTest: text, smokeTestPassed: passed ? '1' : '0' });
  if (!passed) throw new PermanentError(`smoke test of '${instance.displayName}' (${type} ${test.subject}): ${text}`);
  return { ...prev, smokeTest: text };
}

export const smokeTestStep = defineStep({
  name: 'smoke-test',
  runningState: 'smoke-testing',
  retry: { attempts: 5, backoffMs: 2000 },
  needs: ['servicePrincipalId', 'jobId'],
  appliesTo: hasSmokeTest,
  run: smokeTest,
});
