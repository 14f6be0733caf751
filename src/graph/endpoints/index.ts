/** Every Graph resource the client serves; a new resource is a file here and one line below. */
import type { GraphTransport } from '../call-spec.ts';
import type { GraphApi } from '../graph-api.ts';
import { applicationsEndpoints } from './applications.ts';
import { directoryEndpoints } from './directory.ts';
import { lifecycleEndpoints } from './lifecycle.ts';
import { onboardingEndpoints } from './onboarding.ts';
import { reportsEndpoints } from './reports.ts';
import { synchronizationEndpoints } from './synchronization.ts';

export function graphEndpoints(t: GraphTransport): Omit<GraphApi, 'tenantId'> {
  return {
    ...applicationsEndpoints(t),
    ...synchronizationEndpoints(t),
    ...reportsEndpoints(t),
    ...lifecycleEndpoints(t),
    ...onboardingEndpoints(t),
    ...directoryEndpoints(t),
  };
}
