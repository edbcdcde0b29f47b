/**
 * The route change events (API.md, Events): one per committed revision, on the service's
 * EventBridge bus, with `source` `traffic-manager` and a detail-type that says what
 * happened. These zod schemas are the one source of the TypeScript types, of the check the
 * publisher runs before `PutEvents` and of the JSON Schema documented in docs/events.md.
 */
import { v5 as uuidV5 } from 'uuid';
import * as z from '../zod.ts';
import { eventSource } from '../service-names.ts';
import { RevisionNumberSchema, RouteSchema, SlugSchema, type Route } from '../domain/route.schema.ts';

export { eventSource };

const routeDetailTypes = {
  created: 'Route Created',
  updated: 'Route Updated',
  deleted: 'Route Deleted',
} as const;

type RouteDetailType = (typeof routeDetailTypes)[keyof typeof routeDetailTypes];

const detailShape = {
  eventId: z.withMeta(z.uuid(), {
    description:
      'The same for every delivery of the same revision (derived from tenant, service, env and revision): consumers dedupe by it.',
  }),
  tenant: SlugSchema,
  service: SlugSchema,
  env: SlugSchema,
  revision: z.withMeta(RevisionNumberSchema, { description: 'The revision this change committed.' }),
  seq: z.withMeta(z.int().check(z.minimum(1)), { description: "The change's place in the tenant's sequence (the change feed)." }),
  actor: z.withMeta(z.string(), { description: 'Who made the change (the token subject).' }),
  requestId: z.withMeta(z.string(), { description: 'The id the server issued for the request that made the change.' }),
  correlationId: z.withMeta(z.nullable(z.string()), {
    description: "The caller's x-request-id on that request; null when it sent none.",
  }),
  occurredAt: z.withMeta(z.iso.datetime(), { description: 'When the change was committed (ISO 8601).' }),
  route: z.withMeta(z.nullable(RouteSchema), { description: 'The route after the change; null when deleted.' }),
  previous: z.withMeta(z.nullable(RouteSchema), { description: 'The route before the change; null when created.' }),
};

/** Whether a route (after or before the change) belongs to the event's route and revision. */
function consistent(detail: {
  eventId: string;
  tenant: string;
  service: string;
  env: string;
  revision: number;
  route: Route | null;
  previous: Route | null;
}): boolean {
  const same = (route: Route): boolean =>
    route.tenant === detail.tenant && route.service === detail.service && route.env === detail.env;
  if (detail.route === null && detail.previous === null) return false;
  if (detail.route !== null && (!same(detail.route) || detail.route.revision !== detail.revision)) return false;
  if (detail.previous !== null && (!same(detail.previous) || detail.previous.revision >= detail.revision)) return false;
  return detail.eventId === routeEventId(detail);
}

const consistencyMessage =
  'route and previous must be routes of this tenant, service and env (route at this revision, previous before it, not both null), and eventId must be derived from them';

/** The `detail` of any route event. */
export const RouteEventDetailSchema = z.withMeta(
  z.strictObject(detailShape).check(z.refine(consistent, consistencyMessage)),
  { id: 'RouteEventDetail' },
);
type RouteEventDetail = z.infer<typeof RouteEventDetailSchema>;

/** The EventBridge envelope fields every event carries, as a consumer receives them. */
const envelopeShape = {
  version: z.string(),
  id: z.withMeta(z.string(), { description: "EventBridge's id of this delivery (not stable: dedupe by detail.eventId)." }),
  source: z.literal(eventSource),
  account: z.string(),
  time: z.withMeta(z.iso.datetime(), { description: 'The time of the change (detail.occurredAt), to the second.' }),
  region: z.string(),
  resources: z.array(z.string()),
};

const createdDetail = z.strictObject({ ...detailShape, route: RouteSchema, previous: z.null() });
const updatedDetail = z.strictObject({ ...detailShape, route: RouteSchema, previous: RouteSchema });
const deletedDetail = z.strictObject({ ...detailShape, route: z.null(), previous: RouteSchema });

/** A route event as a consumer receives it (an SQS message body, a Lambda event). */
export const RouteEventSchema = z.withMeta(
  z.discriminatedUnion('detail-type', [
    z.object({ ...envelopeShape, 'detail-type': z.literal(routeDetailTypes.created), detail: createdDetail }),
    z.object({ ...envelopeShape, 'detail-type': z.literal(routeDetailTypes.updated), detail: updatedDetail }),
    z.object({ ...envelopeShape, 'detail-type': z.literal(routeDetailTypes.deleted), detail: deletedDetail }),
  ]),
  {
    id: 'RouteEvent',
    title: 'traffic-manager route event',
    description:
      'One per committed revision, in revision order per route, at least once (dedupe by detail.eventId).',
  },
);
export type RouteEvent = z.infer<typeof RouteEventSchema>;

/** What the publisher sends: the detail-type and the detail of one event. */
export interface RouteEventMessage {
  detailType: RouteDetailType;
  detail: RouteEventDetail;
}

/** The detail-type of a change: created when there was no route, deleted when there is none. */
export function detailTypeOf(detail: Pick<RouteEventDetail, 'route' | 'previous'>): RouteDetailType {
  if (detail.previous === null) return routeDetailTypes.created;
  if (detail.route === null) return routeDetailTypes.deleted;
  return routeDetailTypes.updated;
}

/** A fixed namespace for event ids (a random UUID, chosen once: never change it). */
const routeEventNamespace = '6f1c2f7e-3b7a-4c55-9a0e-5d0b8c1e2a47';

/**
 * The event id of a revision: a name-based (version 5, SHA-1; RFC 9562, section 5.5) UUID of
 * `<tenant>/<service>/<env>/<revision>` in {@link routeEventNamespace}. Slugs hold no `/`,
 * so different revisions never share a name. Redelivery of a revision carries the same id;
 * revision numbers keep counting across deletion, so ids never repeat.
 */
export function routeEventId(key: { tenant: string; service: string; env: string; revision: number }): string {
  return uuidV5(`${key.tenant}/${key.service}/${key.env}/${key.revision}`, routeEventNamespace);
}

/** The JSON Schema (draft 2020-12) of a route event as consumers receive it. */
export function routeEventJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RouteEventSchema, { target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
}
