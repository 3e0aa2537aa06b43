import { ANY_SCOPE, DEFAULT_SCOPE, type ScopeRequirement } from '../auth/scopes.js';
import { A2A_PROTOCOL_VERSION, AgentCard, type AgentSkill } from '@a2a-js/sdk';
import { A2P_LIMITS } from './a2pLimits.js';

import { A2P_PATH } from './a2pPaths.js';

export { A2P_PATH, AGENT_CARD_ROUTE } from './a2pPaths.js';
/** The security scheme's name in the card; its requirement names it too. */
const API_KEY_SCHEME = 'apiKey';
/** A2A 0.3 clients send no A2A-Version header; the SDK's compatibility layer serves them on the same URL. */
const LEGACY_PROTOCOL_VERSION = '0.3';

export const SKILL_IDS = {
  processTrace: 'process-trace',
  buildDataset: 'build-dataset',
  catalog: 'catalog',
  usage: 'usage',
} as const;
export type SkillId = (typeof SKILL_IDS)[keyof typeof SKILL_IDS];

/** The scope each skill needs, as REST operations and MCP tools declare theirs (shared/auth/scopes.ts). */
export const SKILL_SCOPES: Record<SkillId, ScopeRequirement> = {
  [SKILL_IDS.processTrace]: DEFAULT_SCOPE,
  [SKILL_IDS.catalog]: ANY_SCOPE,
  [SKILL_IDS.usage]: DEFAULT_SCOPE,
  [SKILL_IDS.buildDataset]: DEFAULT_SCOPE,
};

function skill(fields: Omit<AgentSkill, 'securityRequirements'>): AgentSkill {
  return { ...fields, securityRequirements: [] };
}

const SKILLS: AgentSkill[] = [
  skill({
    id: SKILL_IDS.processTrace,
    name: 'Process a trace into training messages',
    description:
      'Send a recording of someone using a web application (Chrome input events, JSON Lines) as a file part, with a ' +
      'data part `{ "suite_id": "<uuid>", "model_id": "<uuid>", "model_configuration"?: {...}, ' +
      '"action_tool_map_id"?: "<uuid>", "description"?: "..." }`. The file is inline bytes (at most ' +
      `${A2P_LIMITS.inlineTraceBytes} bytes) or the URL of a session's trace in Tracepipe's own storage (upload larger ` +
      'traces through POST /v1/sessions first). The answer is a task: WORKING while the trace is indexed and the ' +
      'example generated, COMPLETED with the training messages (messages.jsonl) as an artifact, REJECTED for an ' +
      'invalid trace or request, INPUT_REQUIRED when suite_id, model_id or the file is missing (reply on the same ' +
      'task with what is missing, the file included), FAILED when the pipelines service fails. Poll with GetTask.',
    tags: ['training-data', 'traces', 'fine-tuning'],
    examples: ['Turn this Gmail recording into tool-calling training messages for gpt-4o.'],
    inputModes: ['application/jsonl', 'application/json'],
    outputModes: ['application/jsonl', 'application/json'],
  }),
  skill({
    id: SKILL_IDS.buildDataset,
    name: 'Build a fine-tuning dataset',
    description:
      'Builds a dataset of your COMPLETED examples in one provider\'s fine-tuning format, as POST /v1/datasets does: ' +
      'a data part `{ "skill": "build-dataset", "name": "...", "format": "openai" | "vertex" | "anthropic" | "trl", ' +
      '"suite_id"?, "session_ids"?, "model_id"?, "created_after"?, "created_before"?, "validation_split"?: 0..0.5, ' +
      '"seed"?, "dedupe"?: true }`. The answer is a task: WORKING while it builds, COMPLETED with the files ' +
      '(train.jsonl and validation.jsonl as links, signed afresh each time the task is read and valid 15 minutes) and ' +
      'the dataset (counts, sizes, sha256, lint report) as the artifact, FAILED with the reason, INPUT_REQUIRED when ' +
      'name or format is missing, REJECTED for a wrong value. Poll with GetTask.',
    tags: ['training-data', 'datasets', 'fine-tuning'],
    examples: ['Build an OpenAI fine-tuning dataset of my Gmail examples with a 10% validation split.'],
    inputModes: ['application/json'],
    outputModes: ['application/jsonl', 'application/json'],
  }),
  skill({
    id: SKILL_IDS.catalog,
    name: 'Answer questions about the catalog',
    description:
      'Suites (applications) and their actions, MCP servers and their tools, and models. Ask in text ("list the ' +
      'suites", "actions of suite <id>", "tools of MCP server <id>", "models") or with a data part `{ "skill": ' +
      '"catalog", "query": "suites" | "suite" | "mcp_servers" | "mcp_server" | "models", "id"?: "<uuid>", "page"?: n, ' +
      '"per_page"?: n }`. Answered at once with a message whose data part is what the REST API returns.',
    tags: ['catalog', 'suites', 'actions', 'tools', 'models'],
    examples: ['Which suites can I record?', 'What tools does MCP server 00000000-0000-4000-8000-000000000301 have?'],
    inputModes: ['text/plain', 'application/json'],
    outputModes: ['application/json', 'text/plain'],
  }),
  skill({
    id: SKILL_IDS.usage,
    name: 'Report usage and estimated cost',
    description:
      'Tokens consumed and storage used in a month, with the estimated cost, as GET /v1/usage returns them. Ask in ' +
      'text ("usage this month", "usage for 2026-10") or with a data part `{ "skill": "usage", "month"?: "YYYY-MM", ' +
      '"suite_id"?: "<uuid>" }`. Answered at once with a message whose data part is the usage report.',
    tags: ['usage', 'billing'],
    examples: ['How many tokens have I used this month?'],
    inputModes: ['text/plain', 'application/json'],
    outputModes: ['application/json', 'text/plain'],
  }),
];

/** The card at /.well-known/agent-card.json; URLs are absolute, built on the API's public base URL. */
export function buildAgentCard(baseUrl: string, version: string): AgentCard {
  const url = new URL(A2P_PATH, baseUrl).toString();
  return {
    name: 'Tracepipe',
    description:
      'Turns recordings of people using web applications into fine-tuning data for AI agents: send a trace, get ' +
      'tool-calling training messages back; ask about the catalog and your usage.',
    supportedInterfaces: [
      { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION },
      { url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: LEGACY_PROTOCOL_VERSION },
    ],
    provider: { organization: 'Tracepipe', url: new URL('/', baseUrl).toString() },
    version,
    documentationUrl: new URL('/v1/docs', baseUrl).toString(),
    capabilities: { streaming: false, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes: {
      [API_KEY_SCHEME]: {
        scheme: {
          $case: 'apiKeySecurityScheme',
          value: {
            description: 'A Tracepipe API key (tp_live_...), created at POST /v1/api-keys.',
            location: 'header',
            name: 'X-API-Key',
          },
        },
      },
    },
    securityRequirements: [{ schemes: { [API_KEY_SCHEME]: { list: [] } } }],
    defaultInputModes: ['application/jsonl', 'application/json', 'text/plain'],
    defaultOutputModes: ['application/json', 'application/jsonl', 'text/plain'],
    skills: SKILLS,
    signatures: [],
  };
}

/**
 * The card as a client of `protocolVersion` reads it: A2A 1.0's JSON (`AgentCard.toJSON`, not JSON.stringify,
 * which would put the SDK's `$case` unions on the wire) for 1.0 clients, which say so in the A2A-Version header
 * (the SDK's client does); for the others (no header, or 0.3) the 0.3 shape with the 1.0 interfaces alongside, as
 * the SDK's express card router serves it (toCompatAgentCard with embedV1Interfaces, not exported by the SDK).
 */
export function agentCardJson(card: AgentCard, protocolVersion: string | null): unknown {
  if (protocolVersion !== null && protocolVersion !== LEGACY_PROTOCOL_VERSION) return AgentCard.toJSON(card);
  const legacy = card.supportedInterfaces.find((entry) => entry.protocolVersion === LEGACY_PROTOCOL_VERSION);
  const apiKeySchemes = Object.entries(card.securitySchemes).flatMap(([name, entry]) =>
    entry.scheme?.$case === 'apiKeySecurityScheme'
      ? [
          [
            name,
            {
              type: 'apiKey',
              name: entry.scheme.value.name,
              in: entry.scheme.value.location,
              description: entry.scheme.value.description,
            },
          ],
        ]
      : [],
  );
  return {
    name: card.name,
    description: card.description,
    version: card.version,
    url: legacy?.url,
    preferredTransport: legacy?.protocolBinding,
    protocolVersion: LEGACY_PROTOCOL_VERSION,
    capabilities: { streaming: card.capabilities?.streaming, pushNotifications: card.capabilities?.pushNotifications },
    defaultInputModes: card.defaultInputModes,
    defaultOutputModes: card.defaultOutputModes,
    skills: card.skills.map(({ id, name, description, tags, examples, inputModes, outputModes }) => ({
      id,
      name,
      description,
      tags,
      examples,
      inputModes,
      outputModes,
    })),
    provider: card.provider,
    documentationUrl: card.documentationUrl,
    supportsAuthenticatedExtendedCard: card.capabilities?.extendedAgentCard ?? false,
    securitySchemes: Object.fromEntries(apiKeySchemes),
    security: card.securityRequirements.map((requirement) =>
      Object.fromEntries(Object.entries(requirement.schemes).map(([name, scopes]) => [name, scopes.list])),
    ),
    supportedInterfaces: (AgentCard.toJSON(card) as { supportedInterfaces?: unknown }).supportedInterfaces,
  };
}
