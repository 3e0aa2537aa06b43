import { PaginationQuery, pageSchema } from '../http/pagination.js';
import { z } from '../openapi/zod.js';
import {
  CATALOG_LIMITS,
  changesSomething,
  Description,
  DisplayName,
  NOTHING_TO_CHANGE,
  Timestamp,
} from './catalogFieldSchemas.js';

/*
 * The schemas of a named parent with children (a suite with its actions, an MCP server with its tools): read with
 * every child, listed by page, found by name, created with its children. Besides names and docs, parents differ
 * only by fields of their own (a server's URL).
 */

interface ParentSchemaNames<
  C extends string,
  Own extends z.ZodRawShape,
  OwnInput extends z.ZodRawShape,
  Child extends z.ZodType,
  ChildInput extends z.ZodType,
> {
  /** The OpenAPI name of the parent (`Suite`); the others are named after it. */
  name: string;
  description: string;
  /** Fields of the parent's own, in responses (after the description) and in requests. */
  own: Own;
  ownInput: OwnInput;
  /** The field holding the children (`actions`), their schemas, and the docs of the field. */
  children: C;
  childSchema: Child;
  childCreateBody: ChildInput;
  childrenDoc: string;
  createChildrenDoc: string;
  /** The documentation of the `name` filter, and an example name. */
  nameFilterDoc: string;
  nameExample: string;
}

export function parentWithChildrenSchemas<
  C extends string,
  Own extends z.ZodRawShape,
  OwnInput extends z.ZodRawShape,
  Child extends z.ZodType,
  ChildInput extends z.ZodType,
>(names: ParentSchemaNames<C, Own, OwnInput, Child, ChildInput>) {
  const Schema = z
    .object({
      id: z.uuid(),
      name: z.string(),
      description: z.string().nullable(),
      ...names.own,
      created_at: Timestamp,
      updated_at: Timestamp,
    })
    .openapi(names.name, { description: names.description });

  const WithChildrenSchema = Schema.extend({
    [names.children]: z.array(names.childSchema).openapi({ description: names.childrenDoc }),
  } as Record<C, z.ZodArray<Child>>).openapi(`${names.name}With${capitalized(names.children)}`);

  const PageSchema = pageSchema(Schema).openapi(`${names.name}Page`);

  const ListQuery = PaginationQuery.extend({
    name: z
      .string()
      .trim()
      .min(1)
      .max(CATALOG_LIMITS.nameMaxLength)
      .optional()
      .openapi({ description: names.nameFilterDoc }),
  });

  const CreateBody = z
    .object({
      name: DisplayName.openapi({ description: 'Unique, compared case-insensitively.', example: names.nameExample }),
      description: Description.optional(),
      ...names.ownInput,
      ...({
        [names.children]: z
          .array(names.childCreateBody)
          .max(CATALOG_LIMITS.childrenPerCreate)
          .default([])
          .openapi({ description: names.createChildrenDoc }),
      } as Record<C, z.ZodDefault<z.ZodArray<ChildInput>>>),
    })
    .openapi(`Create${names.name}Request`);

  const UpdateBody = z
    .object({ name: DisplayName.optional(), description: Description.optional(), ...names.ownInput })
    .refine(changesSomething, NOTHING_TO_CHANGE)
    .openapi(`Update${names.name}Request`);

  return { Schema, WithChildrenSchema, PageSchema, ListQuery, CreateBody, UpdateBody };
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
