import { z } from '../openapi/zod.js';

/**
 * The JSON-RPC envelope of A2P, for the OpenAPI document of POST /v1/a2p only: the A2A SDK's transport handlers
 * validate the requests themselves (A2A 1.0: https://a2a-protocol.org; JSON-RPC: https://www.jsonrpc.org/specification).
 */
const JsonRpcId = z.union([z.string(), z.number().int()]);

export const A2pRequestBodySchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.nullable().optional(),
    method: z.string().openapi({
      description:
        'A2A 1.0 (header `A2A-Version: 1.0`): SendMessage, GetTask, ListTasks, CancelTask. A2A 0.3 (no header, or ' +
        '`A2A-Version: 0.3`): message/send, tasks/get, tasks/cancel.',
      example: 'SendMessage',
    }),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('A2pRequest', {
    description: 'One JSON-RPC 2.0 request (batches are refused with -32600).',
    example: {
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: {
        message: {
          messageId: '0b8e7c1e-6a55-4d6c-9a43-1f0f4f1e2a10',
          role: 'ROLE_USER',
          parts: [
            { raw: 'eyJ0eXBlIjoia2V5ZG93biJ9Cg==', filename: 'input_events.jsonl', mediaType: 'application/jsonl' },
            {
              data: {
                suite_id: '00000000-0000-4000-8000-000000000201',
                model_id: '00000000-0000-4000-8000-000000000101',
              },
            },
          ],
        },
      },
    },
  });

const JsonRpcErrorObject = z.object({ code: z.number().int(), message: z.string(), data: z.unknown().optional() });

export const A2pResponseBodySchema = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.nullable(),
    // An object, but the 0.3 names answer an array (tasks/pushNotificationConfig/list) or null (…/delete).
    result: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown()), z.null()]).optional(),
    error: JsonRpcErrorObject.optional(),
  })
  .openapi('A2pResponse', {
    description:
      '`result` (SendMessage: `{ task }` or `{ message }`; GetTask and CancelTask: the task; ListTasks: `{ tasks, ' +
      'nextPageToken, pageSize, totalSize }`; the push-notification config methods: the config, or `{ configs }`; ' +
      'in 0.3, `tasks/pushNotificationConfig/list` answers an array and `/delete` null), or `error`: -32700 parse error, -32600 invalid request, -32601 ' +
      'method not found, -32602 invalid params, -32001 task not found (also another user\'s), -32002 task not ' +
      'cancelable, -32004 unsupported operation (streaming, a message to a finished task), ' +
      '-32005 content type not supported, -32009 version not supported, -32603 internal error.',
  });

export const AgentCardSchema = z
  .looseObject({
    name: z.string(),
    description: z.string(),
    version: z.string(),
    skills: z.array(z.looseObject({ id: z.string(), name: z.string(), description: z.string() })),
  })
  .openapi('AgentCard', {
    description:
      'The A2A agent card. With `A2A-Version: 1.0` the 1.0 card (`supportedInterfaces`, `securitySchemes`, ' +
      '`securityRequirements`); without the header the 0.3 shape (`url`, `protocolVersion`, `security`) with the ' +
      '1.0 interfaces alongside.',
  });
