/** Onboarding-test shortcuts over test/helpers/sim-http.ts: an instance of any catalogue template with its job. */
import type { SimHttp } from './sim-http.ts';

/** Instantiate a catalogue template and create its job (not started): the service principal and job ids. */
export async function instanceWithJob(
  h: SimHttp,
  templateId: string,
  displayName: string,
): Promise<{ spId: string; jobId: string }> {
  const inst = await h.call('POST', `/applicationTemplates/${templateId}/instantiate`, { displayName });
  const spId = (inst.json as { servicePrincipal: { objectId: string } }).servicePrincipal.objectId;
  const tpl = (await h.call('GET', `/servicePrincipals/${spId}/synchronization/templates`)).json as {
    value: { id: string }[];
  };
  const job = await h.call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, { templateId: tpl.value[0]!.id });
  return { spId, jobId: (job.json as { id: string }).id };
}
