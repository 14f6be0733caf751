/**
 * What an endpoint hands the transport: one request's method, path, price and how to read its
 * answer. Endpoint files (endpoints/*.ts) build these; graph-client.ts sends them.
 */
import type { z } from 'zod';
import type { FailureContext } from './classify-error.ts';
import type { CallCost } from './throttle/index.ts';
import { segment } from './odata.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface CallSpec<S extends z.ZodType | null> {
  method: Method;
  /** Path under graphBaseUrl (with query), or an absolute URL (a nextLink). */
  path: string;
  route: string;
  cost: CallCost;
  body?: unknown;
  schema: S;
  /** Statuses that mean success. */
  ok: number[];
  /** GET by id: 404 → null. */
  notFoundIsNull?: boolean;
  context?: FailureContext;
  /** Values to scrub from messages and logs (credentials sent in this call). */
  secrets?: string[];
  /** The caller abandons the request (besides the timeout). */
  signal?: AbortSignal;
  /** Called when the request goes on the wire (after the limiter and the send guard). */
  onSent?: () => void;
  /** Epoch ms after which the request must not be sent any more (it fails unsent, throttled). */
  sendBy?: number;
}

export const WRITE: CallCost = { writes: 1, ru: 1, reports: 0 };
export const READ: CallCost = { writes: 0, ru: 1, reports: 0 };
/** Microsoft prices listing applications / servicePrincipals (and users) at 2 RU. */
export const LIST_DIRECTORY: CallCost = { writes: 0, ru: 2, reports: 0 };
export const REPORTS: CallCost = { writes: 0, ru: 0, reports: 1 };

/** What endpoints call: one request, or every page of a collection. */
export interface GraphTransport {
  call<S extends z.ZodType>(spec: CallSpec<S>): Promise<z.infer<S> | null>;
  call(spec: CallSpec<null>): Promise<null>;
  listAll<S extends z.ZodType>(path: string, route: string, item: S, cost: CallCost): Promise<z.infer<S>[]>;
}

export const sp = (id: string) => `/servicePrincipals/${segment(id)}`;
export const job = (spId: string, jobId: string) => `${sp(spId)}/synchronization/jobs/${segment(jobId)}`;
