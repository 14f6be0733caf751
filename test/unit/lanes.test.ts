import { describe, expect, it } from 'vitest';
import { servedTenants } from '../../src/app/lanes.ts';

describe('which tenants a worker or poller serves', () => {
  it('default and every tenant it has credentials for, each once; only PROVFLOW_TENANT when set', () => {
    expect(servedTenants(undefined, [])).toEqual(['default']);
    expect(servedTenants(undefined, ['t1', 't2'])).toEqual(['default', 't1', 't2']);
    expect(servedTenants(undefined, ['default', 't1'])).toEqual(['default', 't1']);
    expect(servedTenants('t2', ['t1', 't2'])).toEqual(['t2']);
  });
});
