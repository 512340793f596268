/**
 * The `schemaRegistry` setting: where a Confluent-compatible Schema Registry answers
 * (the base URL of its REST API, e.g. `https://registry:8081` or Apicurio's
 * `…/apis/ccompat/v7`) and how to authenticate. `basicAuth.password`, `bearerToken` and
 * every `headers` value are secrets (config/secrets.ts redacts them by key), usually
 * given as `${env:NAME}`. Documented in docs/config.md.
 */
import { z } from 'zod';

export const schemaRegistrySchema = z
  .object({
    url: z.string().refine(
      (u) => {
        try {
          const p = new URL(u).protocol;
          return p === 'http:' || p === 'https:';
        } catch {
          return false;
        }
      },
      { message: 'expected an http(s) URL' },
    ),
    basicAuth: z
      .object({ username: z.string().min(1), password: z.string() })
      .strict()
      .optional(),
    bearerToken: z.string().min(1).optional(),
    /** Extra HTTP headers sent with every request (values are treated as secrets). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Per-request timeout. */
    requestTimeoutMs: z.number().int().positive().default(10_000),
    /** How long an id the registry answered 404 for is not asked again (0: every lookup asks). */
    unknownIdRetryMs: z.number().int().nonnegative().default(30_000),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.basicAuth !== undefined && r.bearerToken !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'set basicAuth or bearerToken, not both',
        path: ['bearerToken'],
      });
    }
  });

export type SchemaRegistryConfig = z.output<typeof schemaRegistrySchema>;
