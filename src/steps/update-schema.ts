/**
 * Apply the batch's `schema` edits: read the job schema fresh, apply the semantic edits
 * (src/onboarding/schema-edits.ts), check operators and functions against what Graph offers,
 * PUT the whole schema (Microsoft: PUT replaces it), read it back and compare. Runs before
 * start-job so the first cycle already uses the new mappings and scoping filters.
 */
import { refusedBy } from '../graph/classify-error.ts';
import { PermanentError } from '../graph/errors.ts';
import { applySchemaEdits, needsVocabulary, type SchemaVocabulary } from '../onboarding/schema-edits.ts';
import type { InstanceIds, InstanceSpec, StepDeps, StepInput } from './types.ts';
import { defineStep, need, StepWait } from './types.ts';

/** Only instances with schema edits have anything to update. */
function hasSchemaEdits(instance: InstanceSpec): boolean {
  const edits = instance.onboarding?.schema;
  return !!edits && Object.keys(edits).length > 0;
}

export async function updateSchema(deps: StepDeps, input: StepInput): Promise<InstanceIds> {
  const { instance, prev } = input;
  const edits = instance.onboarding?.schema;
  if (!edits || !hasSchemaEdits(instance)) return prev;
  const spId = need(prev, 'servicePrincipalId');
  const jobId = need(prev, 'jobId');
  const what = `the job schema of '${instance.displayName}'`;
  try {
    const current = await deps.graph.getSynchronizationSchema(spId, jobId);
    if (!current) throw new StepWait(deps.settings.replicationPollMs, input.state, `${what} is not yet readable`);
    const needs = needsVocabulary(edits);
    const vocab: SchemaVocabulary = {
      operators: needs.operators ? await deps.graph.listFilterOperators(spId, jobId) : [],
      functions: needs.functions ? await deps.graph.listMappingFunctions(spId, jobId) : [],
    };
    const edited = applySchemaEdits(current, edits, vocab);
    if (edited.problems.length) throw new PermanentError(`cannot edit ${what}: ${edited.problems.join('; ')}`);
    if (edited.changes.length === 0) return await updated(deps, input);
    await deps.graph.putSynchronizationSchema(spId, jobId, edited.schema);
    const readBack = await deps.graph.getSynchronizationSchema(spId, jobId);
    const left = readBack ? applySchemaEdits(readBack, edits, vocab).changes : ['nothing read back'];
    // Plain Error = transient: the read may lag the PUT; the retry reads, compares and PUTs again.
    if (left.length) throw new Error(`Graph did not keep the edits of ${what}: ${left.join('; ')}`);
  } catch (err) {
    throw refusedBy(err, `Graph refused the edits of ${what}`);
  }
  deps.logger.info({ instanceKey: instance.instanceKey }, 'job schema updated');
  return updated(deps, input);
}

/** Records the confirmed schema in the ledger (status and the demo read it) and the ids. */
async function updated(deps: StepDeps, { instance, prev }: StepInput): Promise<InstanceIds> {
  const at = deps.now();
  await deps.store.set(instance, { schemaUpdatedAt: at });
  return { ...prev, schemaUpdatedAt: at };
}

export const updateSchemaStep = defineStep({
  name: 'update-schema',
  runningState: 'updating-schema',
  retry: { attempts: 6, backoffMs: 2000 },
  needs: ['servicePrincipalId', 'jobId'],
  appliesTo: hasSchemaEdits,
  run: updateSchema,
});
