// Writes schemas/<event type>.schema.json from src/domain/event-schemas.ts (`npm run schemas`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_SCHEMAS, jsonSchemaOf } from '../src/domain/event-schemas.js';

for (const type of Object.keys(EVENT_SCHEMAS) as (keyof typeof EVENT_SCHEMAS)[]) {
  const file = join(import.meta.dirname, '..', 'schemas', `${type}.schema.json`);
  writeFileSync(file, `${JSON.stringify(jsonSchemaOf(type), null, 2)}\n`);
  console.log(`wrote ${file}`);
}
