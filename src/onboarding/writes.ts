/**
 * Graph writes an instance costs on a first, undisturbed run — what the benchmark's ideal is
 * derived from. Five for every instance (instantiate, create job, validateCredentials, the one
 * secrets PUT that also carries `settings`, start), plus one schema PUT when `schema` edits
 * anything, one POST per assignment, and one provisionOnDemand for a `smokeTest`.
 */
import type { OnboardingInput } from '../batch/onboarding-fields.ts';

export const BASE_WRITES_PER_INSTANCE = 5;

export function plannedWrites(onboarding: OnboardingInput | null | undefined): number {
  if (!onboarding) return BASE_WRITES_PER_INSTANCE;
  return (
    BASE_WRITES_PER_INSTANCE +
    (onboarding.schema && Object.keys(onboarding.schema).length ? 1 : 0) +
    (onboarding.assignments?.length ?? 0) +
    (onboarding.smokeTest ? 1 : 0)
  );
}

/** Mean planned writes per instance of a batch. */
export function meanPlannedWrites(instances: readonly { onboarding?: OnboardingInput | null }[]): number {
  if (instances.length === 0) return BASE_WRITES_PER_INSTANCE;
  return instances.reduce((n, i) => n + plannedWrites(i.onboarding), 0) / instances.length;
}
