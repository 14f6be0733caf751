/** One description of a zod failure, for failed jobs and Graph schema mismatches alike. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { stepJobDataSchema } from '../../src/flow/job-data.ts';
import { describeZodError } from '../../src/zod-error.ts';

describe('describeZodError', () => {
  it('names each field by its path, array items by index', () => {
    const r = z.object({ value: z.array(z.object({ appId: z.string() })) }).safeParse({ value: [{ appId: 42 }] });
    expect(describeZodError(r.error!)).toMatch(/^value\[0\]\.appId: /);
  });
  it('lists three issues and counts the rest', () => {
    const r = z.object({ a: z.string(), b: z.string(), c: z.string(), d: z.string(), e: z.string() }).safeParse({});
    const text = describeZodError(r.error!);
    expect(text.split('; ')).toHaveLength(3);
    expect(text).toMatch(/ \(\+2 more\)$/);
  });
  it('says which part of a poison job is wrong', () => {
    const r = stepJobDataSchema.safeParse({ v: 2, instance: {} });
    expect(describeZodError(r.error!)).toMatch(/^v: /);
    expect(describeZodError(z.string().safeParse(1).error!)).toMatch(/^\(root\): /);
  });
});
