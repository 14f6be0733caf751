/**
 * Microsoft's published examples (the seeds this project was created from) parse unchanged with
 * provflow's Graph schemas — including `objectId` instead of `id` and `201 OK` for instantiate —
 * and the simulator's answers to the same calls parse with the same schemas.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  applicationTemplateSchema,
  collectionSchema,
  instantiateResponseSchema,
  objectIdOf,
  provisioningObjectSummarySchema,
  synchronizationJobSchema,
  synchronizationTemplateSchema,
} from '../../src/graph/schemas.ts';
import { parseLenientJson } from '../../src/dev/sim/lenient-json.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEEDS = path.resolve(here, '../../../shared/seeds');

/** Response examples: `HTTP/1.1 <status>`, optional headers, then a JSON body (fenced or not). */
function responseExamples(file: string): { status: number; body: unknown }[] {
  const text = readFileSync(path.join(SEEDS, file), 'utf8');
  const out: { status: number; body: unknown }[] = [];
  const parts = text.split(/HTTP\/1\.1 /).slice(1);
  for (const part of parts) {
    const status = Number(part.slice(0, 3));
    // The body runs from the first brace to the end of the block (a fence, or the next example).
    const end = part.search(/```|\nEjemplo |\n#+ /);
    const block = end >= 0 ? part.slice(0, end) : part;
    const start = block.indexOf('{');
    if (start < 0) continue;
    const raw = block.slice(start, block.lastIndexOf('}') + 1).trim();
    if (!raw) continue;
    // Microsoft's examples are sometimes cut short ("truncated": true) and unbalanced: close them.
    let body: unknown;
    for (const tail of ['', ']}', '}]}', '}', ']}]}', '}}', '}]}}']) {
      try {
        body = parseLenientJson(raw + tail);
        break;
      } catch {
        body = undefined;
      }
    }
    if (body !== undefined) out.push({ status, body });
  }
  return out;
}

const seedsPresent = (() => {
  try {
    readFileSync(path.join(SEEDS, '000_english.md'));
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!seedsPresent)("Microsoft's examples parse with provflow's schemas", () => {
  const procedure = seedsPresent ? responseExamples('000_english.md') : [];

  it('finds the examples of every step of the procedure', () => {
    expect(procedure.length).toBeGreaterThanOrEqual(5);
  });

  it('instantiate: 201 with objectId (beta) instead of id', () => {
    const ex = procedure.find((e) => (e.body as Record<string, unknown>).application);
    expect(ex?.status).toBe(201);
    const parsed = instantiateResponseSchema.parse(ex!.body);
    expect(objectIdOf(parsed.application)).toBe('cbc071a6-0fa5-4859-8g55-e983ef63df63');
    expect(objectIdOf(parsed.servicePrincipal)).toBe('f47a6776-bca7-4f2e-bc6c-eec59d058e3e');
  });

  it('application templates list', () => {
    const ex = procedure.find((e) => JSON.stringify(e.body).includes('supportedProvisioningTypes'));
    const parsed = collectionSchema(applicationTemplateSchema).parse(ex!.body);
    expect(parsed.value[0]!.displayName).toBe('Amazon Web Services (AWS)');
  });

  it('synchronization templates and jobs', () => {
    const templates = procedure.find((e) => JSON.stringify(e.body).includes('factoryTag'));
    expect(() => collectionSchema(synchronizationTemplateSchema).parse(templates!.body)).not.toThrow();
    const jobs = procedure.filter((e) => JSON.stringify(e.body).includes('"templateId"'));
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) {
      const b = j.body as Record<string, unknown>;
      const items = Array.isArray(b.value) ? b.value : [b];
      for (const item of items) expect(() => synchronizationJobSchema.parse(item)).not.toThrow();
    }
  });

  it('provisioning logs (seed 003, Spanish page, JSON unchanged)', () => {
    const logs = responseExamples('003_196ab96641302b26.txt').filter((e) =>
      JSON.stringify(e.body).includes('activityDateTime'),
    );
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) {
      const parsed = z
        .object({ value: z.array(provisioningObjectSummarySchema) })
        .loose()
        .parse(l.body);
      expect(parsed.value.length).toBeGreaterThan(0);
    }
  });
});
