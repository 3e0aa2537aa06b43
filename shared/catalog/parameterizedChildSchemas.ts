import { pageSchema } from '../http/pagination.js';
import { z } from '../openapi/zod.js';
import {
  changesSomething,
  Description,
  IdentifierName,
  NOTHING_TO_CHANGE,
  ParameterListInput,
  ParameterSchema,
  Timestamp,
} from './catalogFieldSchemas.js';

/*
 * The schemas of a parameterized child (an action of a suite, a tool of an MCP server). Both have the same shape
 * but for the name of their parent's id; the OpenAPI names and docs are each kind's own.
 */

interface ChildSchemaNames<K extends string> {
  /** The OpenAPI name of the child (`Action`); its page and requests are named after it. */
  name: string;
  /** The field holding the parent's id (`suite_id`). */
  parentField: K;
  description: string;
  /** The documentation of the name on creation. */
  nameDoc: { description: string; example?: string };
  /** The documentation of the path parameters: the parent's id, the child's id. */
  parentIdDoc: string;
  childIdDoc: string;
}

export function parameterizedChildSchemas<K extends string>(names: ChildSchemaNames<K>) {
  const Schema = z
    .object({
      id: z.uuid(),
      // Second, after the id, as the responses have always listed it.
      ...({ [names.parentField]: z.uuid() } as Record<K, z.ZodUUID>),
      name: z.string(),
      description: z.string().nullable(),
      parameters: z.array(ParameterSchema),
      created_at: Timestamp,
      updated_at: Timestamp,
    })
    .openapi(names.name, { description: names.description });

  const PageSchema = pageSchema(Schema).openapi(`${names.name}Page`);

  const CreateBody = z
    .object({
      name: IdentifierName.openapi(names.nameDoc),
      description: Description.optional(),
      parameters: ParameterListInput.default([]),
    })
    .openapi(`Create${names.name}Request`);

  const UpdateBody = z
    .object({
      name: IdentifierName.optional(),
      description: Description.optional(),
      parameters: ParameterListInput.optional().openapi({
        description:
          'Replaces the whole parameter list. A parameter that keeps its name keeps its id, and so its place in ' +
          'action-tool maps; a mapped parameter cannot be dropped (409) nor change type (409).',
      }),
    })
    .refine(changesSomething, NOTHING_TO_CHANGE)
    .openapi(`Update${names.name}Request`);

  const CollectionParams = z.object({
    ...({ [names.parentField]: z.uuid().openapi({ description: names.parentIdDoc }) } as Record<K, z.ZodUUID>),
  });
  const ItemParams = CollectionParams.extend({ id: z.uuid().openapi({ description: names.childIdDoc }) });

  return { Schema, PageSchema, CreateBody, UpdateBody, CollectionParams, ItemParams };
}
