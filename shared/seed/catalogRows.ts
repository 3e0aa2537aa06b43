import type {
  NewAction,
  NewActionParameter,
  NewActionToolMap,
  NewActionToolMapping,
  NewActionToolParameterMapping,
  NewMcpServer,
  NewModel,
  NewSuite,
  NewTool,
  NewToolParameter,
} from '../db/schema.js';
import { CATALOG_MODELS, CATALOG_SUITES, type CatalogSuite } from './catalog.js';
import { seedUuid } from './seedUuid.js';

/*
 * The catalog of catalog.ts as table rows, every id fixed: derived from the parent's id and the row's name, so that
 * a second seed finds the same rows and a changed catalog.ts only adds the rows it adds.
 */

export const seedActionId = (suiteId: string, actionName: string) => seedUuid(`action/${suiteId}/${actionName}`);
export const seedToolId = (mcpServerId: string, toolName: string) => seedUuid(`tool/${mcpServerId}/${toolName}`);
const actionParameterId = (actionId: string, name: string) => seedUuid(`action-parameter/${actionId}/${name}`);
const toolParameterId = (toolId: string, name: string) => seedUuid(`tool-parameter/${toolId}/${name}`);
const mappingId = (mapId: string, actionId: string) => seedUuid(`action-tool-mapping/${mapId}/${actionId}`);
const parameterMappingId = (mappingId: string, actionParameterId: string) =>
  seedUuid(`action-tool-parameter-mapping/${mappingId}/${actionParameterId}`);

type WithId<T> = T & { id: string };

export interface CatalogRows {
  models: WithId<NewModel>[];
  suites: WithId<NewSuite>[];
  actions: WithId<NewAction>[];
  actionParameters: WithId<NewActionParameter>[];
  mcpServers: WithId<NewMcpServer>[];
  tools: WithId<NewTool>[];
  toolParameters: WithId<NewToolParameter>[];
  actionToolMaps: WithId<NewActionToolMap>[];
  actionToolMappings: WithId<NewActionToolMapping>[];
  actionToolParameterMappings: WithId<NewActionToolParameterMapping>[];
}

function addSuite(rows: CatalogRows, suite: CatalogSuite): void {
  const server = suite.mcpServer;
  rows.suites.push({ id: suite.id, name: suite.name, description: suite.description });
  rows.mcpServers.push({ id: server.id, name: server.name, description: server.description, url: server.url });
  rows.actionToolMaps.push({
    id: suite.actionToolMap.id,
    suite_id: suite.id,
    mcp_server_id: server.id,
    name: suite.actionToolMap.name,
    description: suite.actionToolMap.description,
  });

  for (const tool of server.tools) {
    const toolId = seedToolId(server.id, tool.name);
    rows.tools.push({ id: toolId, mcp_server_id: server.id, name: tool.name, description: tool.description });
    tool.parameters.forEach((parameter, position) => {
      rows.toolParameters.push({
        id: toolParameterId(toolId, parameter.name),
        tool_id: toolId,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description,
        position,
      });
    });
  }

  for (const action of suite.actions) {
    const where = `catalog: ${suite.name} action ${action.name}`;
    const tool = server.tools.find((candidate) => candidate.name === action.tool);
    if (!tool) throw new Error(`${where} names tool ${action.tool}, which ${server.name} does not have`);
    const actionId = seedActionId(suite.id, action.name);
    const toolId = seedToolId(server.id, tool.name);
    const mapping = mappingId(suite.actionToolMap.id, actionId);
    rows.actions.push({ id: actionId, suite_id: suite.id, name: action.name, description: action.description });
    rows.actionToolMappings.push({
      id: mapping,
      action_tool_map_id: suite.actionToolMap.id,
      action_id: actionId,
      tool_id: toolId,
    });
    action.parameters.forEach((parameter, position) => {
      const toolParameterName = parameter.toolParameter ?? parameter.name;
      const toolParameter = tool.parameters.find((candidate) => candidate.name === toolParameterName);
      if (!toolParameter || toolParameter.type !== parameter.type) {
        throw new Error(
          `${where}: parameter ${parameter.name} (${parameter.type}) needs a ${parameter.type} parameter ` +
            `${toolParameterName} on tool ${tool.name}`,
        );
      }
      const parameterId = actionParameterId(actionId, parameter.name);
      rows.actionParameters.push({
        id: parameterId,
        action_id: actionId,
        name: parameter.name,
        type: parameter.type,
        required: parameter.required,
        description: parameter.description,
        position,
      });
      rows.actionToolParameterMappings.push({
        id: parameterMappingId(mapping, parameterId),
        action_tool_mapping_id: mapping,
        action_parameter_id: parameterId,
        tool_parameter_id: toolParameterId(toolId, toolParameter.name),
      });
    });
  }
}

/** Builds the rows, and throws if catalog.ts maps an action or parameter onto something that does not fit. */
export function buildCatalogRows(suites: CatalogSuite[] = CATALOG_SUITES): CatalogRows {
  const rows: CatalogRows = {
    models: CATALOG_MODELS.map((model) => ({
      id: model.id,
      provider: model.provider,
      name: model.name,
      display_name: model.displayName,
    })),
    suites: [],
    actions: [],
    actionParameters: [],
    mcpServers: [],
    tools: [],
    toolParameters: [],
    actionToolMaps: [],
    actionToolMappings: [],
    actionToolParameterMappings: [],
  };
  for (const suite of suites) addSuite(rows, suite);
  return rows;
}
