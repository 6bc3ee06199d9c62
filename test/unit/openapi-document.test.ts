import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { openApiDocument, ROUTES } from '../../src/api/routes.js';
import { EVENT_TYPES, jsonSchemaOf } from '../../src/domain/event-schemas.js';

type Content = Record<string, { schema: z.ZodType; example?: unknown }>;
/** What this test reads of a route declaration. */
interface RouteShape {
  readonly method: string;
  readonly path: string;
  readonly request?: { readonly body?: { readonly content: Content }; readonly params?: unknown };
  readonly responses: Record<string, { readonly content?: Content }>;
}

describe('the OpenAPI document', () => {
  const document = openApiDocument() as {
    paths: Record<string, Record<string, { operationId?: string }>>;
    webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>;
  };

  it('names every operation, once', () => {
    const ids = Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).map((operation) => operation.operationId),
    );
    assert.equal(ids.length, ROUTES.length);
    assert.ok(
      ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)),
      ids.join(),
    );
    assert.equal(new Set(ids).size, ids.length);
  });

  it('gives every operation an example, and every example is valid for the schema it illustrates', () => {
    for (const route of ROUTES as readonly RouteShape[]) {
      const contents: Content[] = [
        ...(route.request?.body ? [route.request.body.content as Content] : []),
        ...Object.values(route.responses).map(
          (response) => ('content' in response ? response.content : {}) as Content,
        ),
      ];
      const examples = contents
        .flatMap((content) => Object.values(content))
        .filter((c) => c.example !== undefined);
      const hasParamExample = route.request?.params !== undefined;
      assert.ok(examples.length > 0 || hasParamExample, `${route.method} ${route.path} has an example`);
      for (const { schema, example } of examples) {
        const parsed = schema.safeParse(example);
        assert.ok(parsed.success, `${route.method} ${route.path}: ${JSON.stringify(parsed.error?.issues)}`);
      }
    }
  });

  it('lists every event type under webhooks, with the schema of schemas/<type>.schema.json', () => {
    assert.deepEqual(Object.keys(document.webhooks).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const schema = document.webhooks[type]?.post.requestBody.content['application/json']?.schema as {
        properties: Record<string, unknown>;
      };
      const published = jsonSchemaOf(type) as { properties: Record<string, unknown> };
      // The literal is rendered as a one-value enum here and as a const there: the same one value.
      const literal = schema.properties.type as { enum?: unknown[]; const?: unknown };
      assert.deepEqual(literal.enum ?? [literal.const], [type]);
      assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(published.properties).sort(), type);
    }
  });
});
