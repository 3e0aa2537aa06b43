import { describe, expect, it } from 'vitest';
import { findMapViolations, type MapFacts } from '../../shared/catalog/actionToolMapValidation.js';
import { toMcpToolList } from '../../shared/catalog/mcpToolsFormat.js';
import { planParameterReplacement, type ParameterUse } from '../../shared/catalog/parameterReplacement.js';

/* The catalog's pure rules, without the API: map validation, parameter replacement, the MCP tools format. */

const SUITE = 'suite';
const SERVER = 'server';

function facts(): MapFacts {
  return {
    actions: new Map([
      ['send', { suite_id: SUITE }],
      ['foreign', { suite_id: 'other-suite' }],
    ]),
    tools: new Map([
      ['send_email', { mcp_server_id: SERVER }],
      ['foreign_tool', { mcp_server_id: 'other-server' }],
    ]),
    actionParameters: new Map([
      ['send.to', { action_id: 'send', type: 'STRING' as const }],
      ['send.n', { action_id: 'send', type: 'NUMBER' as const }],
    ]),
    toolParameters: new Map([['send_email.to', { tool_id: 'send_email', type: 'STRING' as const }]]),
  };
}

type MappingSketch = { action_id: string; tool_id: string; parameter_mappings?: Array<[string, string]> };

function mapBody(mappings: MappingSketch[]) {
  return {
    suite_id: SUITE,
    mcp_server_id: SERVER,
    mappings: mappings.map((mapping) => ({
      action_id: mapping.action_id,
      tool_id: mapping.tool_id,
      parameter_mappings: (mapping.parameter_mappings ?? []).map(([action_parameter_id, tool_parameter_id]) => ({
        action_parameter_id,
        tool_parameter_id,
      })),
    })),
  };
}

describe('findMapViolations', () => {
  it('accepts a map that keeps every rule', () => {
    const body = mapBody([
      { action_id: 'send', tool_id: 'send_email', parameter_mappings: [['send.to', 'send_email.to']] },
    ]);
    expect(findMapViolations(body, facts())).toEqual([]);
  });

  it('names each broken rule with its ids', () => {
    const body = mapBody([
      { action_id: 'foreign', tool_id: 'foreign_tool' },
      { action_id: 'send', tool_id: 'send_email', parameter_mappings: [['send.n', 'send_email.to']] },
      { action_id: 'send', tool_id: 'send_email' },
    ]);
    expect(findMapViolations(body, facts()).map((violation) => [violation.rule, violation.field])).toEqual([
      ['action_not_in_suite', 'mappings.0.action_id'],
      ['tool_not_in_server', 'mappings.0.tool_id'],
      ['incompatible_parameter_types', 'mappings.1.parameter_mappings.0'],
      ['action_mapped_twice', 'mappings.2.action_id'],
    ]);
  });

  it('does not compare types of parameters that do not belong to the mapping', () => {
    const body = mapBody([
      { action_id: 'send', tool_id: 'send_email', parameter_mappings: [['unknown', 'send_email.to']] },
    ]);
    expect(findMapViolations(body, facts()).map((violation) => violation.rule)).toEqual([
      'action_parameter_not_of_action',
    ]);
  });
});

describe('planParameterReplacement', () => {
  const existing = [
    { id: 'id-a', name: 'a' },
    { id: 'id-b', name: 'b' },
  ];

  it('keeps the ids of names that stay, deletes names that go, inserts new names, in the new order', () => {
    const plan = planParameterReplacement(
      existing,
      [
        { name: 'c', type: 'STRING', required: false },
        { name: 'a', type: 'NUMBER', required: true },
      ],
      [],
    );
    expect(plan.deleteIds).toEqual(['id-b']);
    expect(plan.updates).toEqual([
      { id: 'id-a', position: 1, parameter: { name: 'a', type: 'NUMBER', required: true } },
    ]);
    expect(plan.inserts).toEqual([{ position: 0, parameter: { name: 'c', type: 'STRING', required: false } }]);
    expect(plan.conflicts).toEqual([]);
  });

  it('reports duplicate names and mapped parameters removed or retyped', () => {
    const uses: ParameterUse[] = [
      { parameter_id: 'id-a', action_tool_map_id: 'map', counterpart_parameter_id: 'x', counterpart_type: 'STRING' },
      { parameter_id: 'id-b', action_tool_map_id: 'map', counterpart_parameter_id: 'y', counterpart_type: 'NUMBER' },
    ];
    const plan = planParameterReplacement(
      existing,
      [
        { name: 'a', type: 'BOOLEAN', required: false },
        { name: 'a', type: 'BOOLEAN', required: false },
      ],
      uses,
    );
    expect(plan.duplicateNames).toEqual(['a']);
    expect(plan.conflicts).toEqual([
      { parameter_id: 'id-a', name: 'a', action_tool_map_id: 'map', reason: 'type_changed', mapped_type: 'STRING' },
      { parameter_id: 'id-b', name: 'b', action_tool_map_id: 'map', reason: 'removed' },
    ]);
  });
});

describe('toMcpToolList', () => {
  it('maps every ParameterType to its JSON Schema type and lists the required parameters', () => {
    const types = ['STRING', 'NUMBER', 'BOOLEAN', 'OBJECT', 'ARRAY'] as const;
    const list = toMcpToolList([
      {
        name: 'tool',
        description: null,
        parameters: types.map((type, i) => ({
          id: `${i}`,
          name: type.toLowerCase(),
          type,
          required: i % 2 === 0,
          description: null,
        })),
      },
    ]);
    expect(list).toEqual({
      tools: [
        {
          name: 'tool',
          inputSchema: {
            type: 'object',
            properties: {
              string: { type: 'string' },
              number: { type: 'number' },
              boolean: { type: 'boolean' },
              object: { type: 'object' },
              array: { type: 'array' },
            },
            required: ['string', 'boolean', 'array'],
          },
        },
      ],
    });
  });
});
