/** Step 1: find the gallery application template by id or display name (cached per batch). */
import { PermanentError } from '../graph/errors.ts';
import type { InstanceIds, StepDeps, StepInput } from './types.ts';
import { defineStep } from './types.ts';

export async function resolveTemplate(deps: StepDeps, { instance }: StepInput): Promise<InstanceIds> {
  const { id, displayName } = instance.applicationTemplate;
  const cacheKey = id ? `id:${id}` : `name:${displayName ?? ''}`;
  const cached = await deps.store.getBatchCache(instance.batchId, cacheKey);
  if (cached) return { templateId: cached };

  if (id) {
    const t = await deps.graph.getApplicationTemplate(id);
    if (!t) {
      throw new PermanentError(
        `Application template ${id} does not exist in the gallery. ` +
          "Check the id (GET /applicationTemplates lists them) or give the template's display name instead.",
      );
    }
    await deps.store.setBatchCache(instance.batchId, cacheKey, t.id);
    return { templateId: t.id };
  }
  if (!displayName)
    throw new PermanentError('The instance names no applicationTemplate: set it on the instance or in defaults.');

  const found = await deps.graph.findApplicationTemplatesByName(displayName);
  // Graph's `eq` is case-insensitive; prefer an exact match when several come back.
  const exact = found.filter((t) => t.displayName === displayName);
  const candidates = exact.length ? exact : found;
  if (candidates.length === 0) {
    throw new PermanentError(
      `No gallery application template is named '${displayName}'. ` +
        'Check the spelling against the Entra gallery, or give the template id (applicationTemplate: "<guid>").',
    );
  }
  if (candidates.length > 1) {
    throw new PermanentError(
      `${candidates.length} gallery templates are named '${displayName}' ` +
        `(${candidates.map((t) => t.id).join(', ')}). Give the template id instead of its name.`,
    );
  }
  const templateId = candidates[0]!.id;
  await deps.store.setBatchCache(instance.batchId, cacheKey, templateId);
  return { templateId };
}

export const resolveTemplateStep = defineStep({
  name: 'resolve-template',
  runningState: 'resolving-template',
  retry: { attempts: 8, backoffMs: 1000 },
  needs: [],
  run: resolveTemplate,
});
