import type { Scope } from '../http/endpoints.ts';

/** Who is calling, from a verified token. */
export interface Principal {
  /** The actor recorded in revisions and audit. */
  sub: string;
  /** One tenant slug, or `*` for an operator. */
  tenant: string;
  scopes: ReadonlySet<Scope>;
}
