// Writes schemas/<event type>.schema.json from src/domain/event-schemas.ts and schemas/openapi.json from the
// management API's routes (`npm run schemas`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../src/api/routes.js';
import { EVENT_SCHEMAS, jsonSchemaOf } from '../src/domain/event-schemas.js';

for (const type of Object.keys(EVENT_SCHEMAS) as (keyof typeof EVENT_SCHEMAS)[]) {
  const file = join(import.meta.dirname, '..', 'schemas', `${type}.schema.json`);
  writeFileSync(file, `${JSON.stringify(jsonSchemaOf(type), null, 2)}\n`);
  console.log(`wrote ${file}`);
}

const openApi = join(import.meta.dirname, '..', 'schemas', 'openapi.json');
writeFileSync(openApi, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
console.log(`wrote ${openApi}`);
