/**
 * Contract: Microsoft's examples (verbatim in test/fixtures/graph-examples, so this runs without
 * the seeds) parse with provflow's schemas; the simulator accepts Microsoft's request bodies
 * (read leniently here, sent as the strict JSON Graph requires); and the simulator's answers carry every field Microsoft's
 * examples show, so code written against either sees the same shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import {
  applicationTemplateSchema,
  collectionSchema,
  instantiateResponseSchema,
  objectIdOf,
  provisioningObjectSummarySchema,
  synchronizationJobSchema,
  synchronizationTemplateSchema,
} from '../../src/graph/schemas.ts';
import { startSimulator, type SimulatorHandle } from '../../src/dev/sim/index.ts';
import { AWS_TEMPLATE_ID } from '../../src/dev/sim/catalogue.ts';
import { exampleText, parseExample } from './parse-example.ts';

type Json = Record<string, unknown>;

describe("Microsoft's examples parse unchanged with provflow's schemas", () => {
  it('application templates list (truncated in the example)', () => {
    const page = collectionSchema(applicationTemplateSchema).parse(parseExample('application-templates-list.json'));
    expect(page.value[0]).toMatchObject({
      id: AWS_TEMPLATE_ID,
      displayName: 'Amazon Web Services (AWS)',
      supportedProvisioningTypes: ['sync'],
    });
  });

  it('instantiate answers 201 with objectId (beta), not id; trailing commas accepted', () => {
    const r = instantiateResponseSchema.parse(parseExample('instantiate.json'));
    expect(r.application.id).toBeUndefined();
    expect(objectIdOf(r.application)).toBe('cbc071a6-0fa5-4859-8g55-e983ef63df63');
    expect(objectIdOf(r.servicePrincipal)).toBe('f47a6776-bca7-4f2e-bc6c-eec59d058e3e');
    expect(r.application.applicationTemplateId).toBe(AWS_TEMPLATE_ID);
  });

  it('synchronization templates and jobs (created NotConfigured, later Paused)', () => {
    const t = collectionSchema(synchronizationTemplateSchema).parse(
      parseExample('synchronization-templates-list.json'),
    );
    expect(t.value.map((x) => x.id)).toEqual(['aws']);
    const created = synchronizationJobSchema.parse(parseExample('synchronization-job-create.json'));
    expect(created.status?.code).toBe('NotConfigured');
    expect(created.schedule).toMatchObject({ state: 'Disabled', interval: 'P10675199DT2H48M5.4775807S' });
    expect(created.status?.steadyStateFirstAchievedTime).toBe('0001-01-01T00:00:00Z');
    const paused = synchronizationJobSchema.parse(parseExample('synchronization-job-get-paused.json'));
    expect(paused.status?.code).toBe('Paused');
    expect(paused.synchronizationJobSettings?.[0]).toEqual({ name: 'QuarantineTooManyDeletesThreshold', value: '500' });
  });

  it('provisioning logs: all three examples, both errorCategory spellings', () => {
    const parse = (f: string) => collectionSchema(provisioningObjectSummarySchema).parse(parseExample(f)).value;
    const [ok] = parse('provisioning-logs-success.json');
    expect(ok!.provisioningStatusInfo?.status).toBe('success');
    expect(ok!.provisioningAction).toBe('create');
    const [err] = parse('provisioning-logs-error.json');
    expect(err!.provisioningStatusInfo?.errorInformation?.errorCode).toBe('ContosoEntryConflict');
    expect(err!.statusInfo?.errorCategory).toBe('nonServiceFailure');
    const [box] = parse('provisioning-logs-box-error.json');
    expect(box!.statusInfo).toMatchObject({
      status: 'failure',
      errorCode: 'BoxEntryConflict',
      errorCategory: 'NonServiceFailure',
    });
    expect(box!.provisioningStatusInfo).toBeUndefined();
  });

  it('request bodies as published are not strict JSON (why the tests read them leniently)', () => {
    expect(() => JSON.parse(exampleText('validate-credentials.request.json'))).toThrow();
    expect(parseExample('validate-credentials.request.json')).toEqual({
      credentials: [
        { key: 'ClientSecret', value: 'xxxxxxxxxxxxxxxxxxxxx' },
        { key: 'SecretToken', value: 'xxxxxxxxxxxxxxxxxxxxx' },
      ],
    });
  });
});

/** Keys of `example` (recursively into plain objects) missing from `actual`. */
function missingKeys(example: unknown, actual: unknown, at = ''): string[] {
  if (!example || typeof example !== 'object' || Array.isArray(example)) return [];
  if (!actual || typeof actual !== 'object') return [at || '(root)'];
  const out: string[] = [];
  for (const [k, v] of Object.entries(example as Json)) {
    const here = at ? `${at}.${k}` : k;
    if (!(k in (actual as Json))) out.push(here);
    else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      out.push(...missingKeys(v, (actual as Json)[k], here));
    }
  }
  return out;
}

/**
 * Fields Microsoft's examples show that the simulator (src/dev/sim) does not send yet. Listed, not
 * hidden: the test fails on any *other* missing field, and shrinking this list is the fix (it is
 * empty now).
 */
const KNOWN_GAPS = new Set<string>([]);

/** The simulator's answer has every field of Microsoft's example, known gaps aside. */
function expectShape(example: unknown, actual: unknown): void {
  expect(missingKeys(example, actual).filter((k) => !KNOWN_GAPS.has(k))).toEqual([]);
}

describe("the simulator speaks Microsoft's examples", () => {
  let sim: SimulatorHandle;
  let agent: Agent;
  let token: string;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'fast', seed: 7 });
    agent = new Agent({ connect: { ca: sim.caCertPem } });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    });
    const res = await fetch(`${sim.authorityHost}/${sim.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: form,
      dispatcher: agent,
    });
    token = ((await res.json()) as { access_token: string }).access_token;
  });
  afterAll(async () => {
    await agent?.close();
    await sim?.close();
  });

  /** Send Microsoft's example body as strict JSON (Graph, and the simulator, refuse anything else). */
  async function call(method: string, path: string, rawBody?: string): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${sim.graphBaseUrl}${path}`, {
      method,
      dispatcher: agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: rawBody,
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  it('walks the procedure with the published request bodies and answers with the published fields', async () => {
    const templates = await call('GET', '/applicationTemplates');
    const aws = (templates.json as { value: Json[] }).value.find((t) => t.id === AWS_TEMPLATE_ID);
    expectShape((parseExample('application-templates-list.json') as { value: Json[] }).value[0], aws);

    const inst = await call(
      'POST',
      `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`,
      JSON.stringify(parseExample('instantiate.request.json')),
    );
    expect(inst.status).toBe(201);
    const example = parseExample('instantiate.json') as Json;
    expectShape(example, inst.json);
    const created = instantiateResponseSchema.parse(inst.json);
    expect(created.application.displayName).toBe('AWS Contoso');
    const spId = objectIdOf(created.servicePrincipal);

    const syncTemplates = await call('GET', `/servicePrincipals/${spId}/synchronization/templates`);
    expectShape(
      (parseExample('synchronization-templates-list.json') as { value: Json[] }).value[0],
      (syncTemplates.json as { value: Json[] }).value[0],
    );

    const job = await call(
      'POST',
      `/servicePrincipals/${spId}/synchronization/jobs`,
      JSON.stringify(parseExample('synchronization-job-create.request.json')),
    );
    expect([200, 201]).toContain(job.status);
    expectShape(parseExample('synchronization-job-create.json'), job.json);
    const jobId = synchronizationJobSchema.parse(job.json).id;
    expect(jobId.startsWith(`aws.${sim.tenantId.replace(/-/g, '')}.`)).toBe(true);

    const validate = await call(
      'POST',
      `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/validateCredentials`,
      JSON.stringify(parseExample('validate-credentials.request.json')),
    );
    expect(validate.status).toBe(204);
    const put = await call(
      'PUT',
      `/servicePrincipals/${spId}/synchronization/secrets`,
      JSON.stringify(parseExample('secrets-put.request.json')),
    );
    expect(put.status).toBe(204);

    const paused = await call('GET', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}`);
    expectShape(parseExample('synchronization-job-get-paused.json'), paused.json);

    expect((await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/start`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, sim.settings.firstCycleMs + 100));
    const logs = await call('GET', `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}'`)}`);
    const entries = collectionSchema(provisioningObjectSummarySchema).parse(logs.json).value;
    expect(entries.length).toBeGreaterThan(0);
    const success = (parseExample('provisioning-logs-success.json') as { value: Json[] }).value[0];
    expectShape(success, entries[0]);
  });

  it("day two: Microsoft's restart body, deleted items with $select/$count/$orderBy, restore's directoryObject", async () => {
    const inst = await call(
      'POST',
      `/applicationTemplates/${AWS_TEMPLATE_ID}/instantiate`,
      JSON.stringify({ displayName: 'AWS Contoso Day Two' }),
    );
    const created = instantiateResponseSchema.parse(inst.json);
    const appId = objectIdOf(created.application);
    const spId = objectIdOf(created.servicePrincipal);
    const job = await call('POST', `/servicePrincipals/${spId}/synchronization/jobs`, '{"templateId":"aws"}');
    const jobId = synchronizationJobSchema.parse(job.json).id;
    const restartBody = JSON.stringify(parseExample('synchronization-job-restart.request.json'));
    const restart = await call('POST', `/servicePrincipals/${spId}/synchronization/jobs/${jobId}/restart`, restartBody);
    expect(restart.status).toBe(204);

    expect((await call('DELETE', `/applications/${appId}`)).status).toBe(204);
    // Microsoft's example 2, on applications (its $orderBy on deletedDateTime needs $count=true).
    const query = '$count=true&$orderBy=deletedDateTime asc&$select=id,displayName,deletedDateTime';
    const list = await call('GET', `/directory/deletedItems/microsoft.graph.application?${query.replace(/ /g, '%20')}`);
    expect(list.status).toBe(200);
    const example = parseExample('deleted-items-list-select.json') as { value: Json[] };
    expectShape(example, list.json);
    const [item] = (list.json as { value: Json[] }).value;
    expectShape(example.value[0], item);
    expect(Object.keys(item!).sort()).toEqual(['deletedDateTime', 'displayName', 'id']);
    expect(item).toMatchObject({ id: appId, displayName: 'AWS Contoso Day Two' });

    const restored = await call('POST', `/directory/deletedItems/${appId}/restore`);
    expect(restored.status).toBe(200);
    // Microsoft's example restores a group: its group-only properties do not apply to an application.
    const groupOnly = ['groupTypes', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled', 'visibility'];
    const restoreExample = Object.fromEntries(
      Object.entries(parseExample('deleted-item-restore.json') as Json).filter(([k]) => !groupOnly.includes(k)),
    );
    expectShape(restoreExample, restored.json);
    expect(restored.json).toMatchObject({ '@odata.type': '#microsoft.graph.application', id: appId });
  });
});
