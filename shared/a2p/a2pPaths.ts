/**
 * Where the A2P agent is served, apart from the modules that use @a2a-js/sdk so that routes are declared without
 * loading it (the SDK loads with the first A2P request: shared/runtime/lazily.ts).
 */
export const A2P_PATH = '/v1/a2p';
export const AGENT_CARD_ROUTE = '/.well-known/agent-card.json';
/** The request header naming the protocol version (the SDK's A2A_VERSION_HEADER, A2A 1.0 "Versioning"). */
export const A2A_VERSION_HEADER = 'A2A-Version';
