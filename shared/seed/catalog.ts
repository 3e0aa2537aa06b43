import type { ModelProvider, ParameterType } from '../db/schema.js';

/*
 * The catalog that every fresh database starts with: models, and three suites (Gmail, Google Calendar, GitHub),
 * each with the MCP server whose tools perform its actions and one action-tool map binding the two. Top-level ids
 * are fixed here; the ids of actions, tools, parameters and mappings are derived from these and the names
 * (catalogRows.ts), so they are just as stable.
 */

export interface CatalogParameter {
  name: string;
  type: ParameterType;
  required: boolean;
  description: string;
}

export interface CatalogActionParameter extends CatalogParameter {
  /** The tool parameter it maps to (same type); by default the one of the same name. */
  toolParameter?: string;
}

export interface CatalogAction {
  name: string;
  description: string;
  /** The tool of the suite's MCP server that performs this action. */
  tool: string;
  parameters: CatalogActionParameter[];
}

export interface CatalogTool {
  name: string;
  description: string;
  parameters: CatalogParameter[];
}

export interface CatalogSuite {
  id: string;
  name: string;
  description: string;
  actions: CatalogAction[];
  mcpServer: { id: string; name: string; description: string; url: string | null; tools: CatalogTool[] };
  actionToolMap: { id: string; name: string; description: string };
}

export interface CatalogModel {
  id: string;
  provider: ModelProvider;
  name: string;
  displayName: string;
}

function required(name: string, type: ParameterType, description: string, toolParameter?: string) {
  return { name, type, required: true, description, ...(toolParameter ? { toolParameter } : {}) };
}

function optional(name: string, type: ParameterType, description: string, toolParameter?: string) {
  return { name, type, required: false, description, ...(toolParameter ? { toolParameter } : {}) };
}

export const GMAIL_SUITE_ID = '00000000-0000-4000-8000-000000000201';
export const GOOGLE_CALENDAR_SUITE_ID = '00000000-0000-4000-8000-000000000202';
export const GITHUB_SUITE_ID = '00000000-0000-4000-8000-000000000203';

export const GMAIL_MCP_SERVER_ID = '00000000-0000-4000-8000-000000000301';
export const GOOGLE_CALENDAR_MCP_SERVER_ID = '00000000-0000-4000-8000-000000000302';
export const GITHUB_MCP_SERVER_ID = '00000000-0000-4000-8000-000000000303';

export const GMAIL_ACTION_TOOL_MAP_ID = '00000000-0000-4000-8000-000000000401';
export const GOOGLE_CALENDAR_ACTION_TOOL_MAP_ID = '00000000-0000-4000-8000-000000000402';
export const GITHUB_ACTION_TOOL_MAP_ID = '00000000-0000-4000-8000-000000000403';

export const CATALOG_MODELS: CatalogModel[] = [
  { id: '00000000-0000-4000-8000-000000000101', provider: 'OPENAI', name: 'gpt-4o', displayName: 'GPT-4o' },
  { id: '00000000-0000-4000-8000-000000000102', provider: 'OPENAI', name: 'gpt-4o-mini', displayName: 'GPT-4o mini' },
  { id: '00000000-0000-4000-8000-000000000103', provider: 'OPENAI', name: 'gpt-4.1', displayName: 'GPT-4.1' },
  {
    id: '00000000-0000-4000-8000-000000000104',
    provider: 'ANTHROPIC',
    name: 'claude-sonnet-4-5',
    displayName: 'Claude Sonnet 4.5',
  },
  {
    id: '00000000-0000-4000-8000-000000000105',
    provider: 'ANTHROPIC',
    name: 'claude-haiku-4-5',
    displayName: 'Claude Haiku 4.5',
  },
];

/** Seeded model ids by the name usage reports use (`openai/gpt-4o`). */
export const SEED_MODEL_IDS = Object.fromEntries(
  CATALOG_MODELS.map((model) => [`${model.provider.toLowerCase()}/${model.name}`, model.id]),
) as Record<string, string>;

const gmail: CatalogSuite = {
  id: GMAIL_SUITE_ID,
  name: 'Gmail',
  description: 'Google Mail in the browser: reading, writing, searching and organising email.',
  actions: [
    {
      name: 'compose_email',
      description: 'Write a new email and send it.',
      tool: 'send_email',
      parameters: [
        required('to', 'STRING', 'Recipient address; several separated by commas.'),
        required('subject', 'STRING', 'Subject line.'),
        required('body', 'STRING', 'Plain-text body.'),
        optional('cc', 'ARRAY', 'Addresses to copy.'),
      ],
    },
    {
      name: 'search_emails',
      description: 'Search the mailbox with Gmail search syntax.',
      tool: 'search_emails',
      parameters: [
        required('query', 'STRING', 'Gmail search query, e.g. "from:alice is:unread".'),
        optional('max_results', 'NUMBER', 'How many messages to return at most.'),
      ],
    },
    {
      name: 'read_email',
      description: 'Open a message and read it.',
      tool: 'get_email',
      parameters: [required('message_id', 'STRING', 'Id of the message.')],
    },
    {
      name: 'reply_to_email',
      description: 'Reply to a message in its thread.',
      tool: 'reply_email',
      parameters: [
        required('message_id', 'STRING', 'Id of the message replied to.'),
        required('body', 'STRING', 'Plain-text body of the reply.'),
        optional('reply_all', 'BOOLEAN', 'Reply to every recipient, not just the sender.'),
      ],
    },
    {
      name: 'archive_email',
      description: 'Remove a message from the inbox without deleting it.',
      tool: 'archive_email',
      parameters: [required('message_id', 'STRING', 'Id of the message.')],
    },
    {
      name: 'apply_label',
      description: 'Put a label on a message.',
      tool: 'add_label',
      parameters: [
        required('message_id', 'STRING', 'Id of the message.'),
        required('label', 'STRING', 'Name of the label.', 'label_name'),
      ],
    },
  ],
  mcpServer: {
    id: GMAIL_MCP_SERVER_ID,
    name: 'gmail-mcp',
    description: 'MCP server over the Gmail API.',
    url: null,
    tools: [
      {
        name: 'send_email',
        description: 'Send an email.',
        parameters: [
          required('to', 'STRING', 'Recipients, comma-separated.'),
          required('subject', 'STRING', 'Subject line.'),
          required('body', 'STRING', 'Plain-text body.'),
          optional('cc', 'ARRAY', 'Addresses to copy.'),
          optional('bcc', 'ARRAY', 'Addresses to blind-copy.'),
        ],
      },
      {
        name: 'search_emails',
        description: 'Search messages with Gmail search syntax.',
        parameters: [
          required('query', 'STRING', 'Gmail search query.'),
          optional('max_results', 'NUMBER', 'Maximum number of messages returned.'),
        ],
      },
      {
        name: 'get_email',
        description: 'Fetch a message with its headers and body.',
        parameters: [required('message_id', 'STRING', 'Id of the message.')],
      },
      {
        name: 'reply_email',
        description: 'Reply within the thread of a message.',
        parameters: [
          required('message_id', 'STRING', 'Id of the message replied to.'),
          required('body', 'STRING', 'Plain-text body.'),
          optional('reply_all', 'BOOLEAN', 'Whether to reply to all recipients.'),
        ],
      },
      {
        name: 'archive_email',
        description: 'Remove the INBOX label from a message.',
        parameters: [required('message_id', 'STRING', 'Id of the message.')],
      },
      {
        name: 'add_label',
        description: 'Add a label to a message, creating the label if needed.',
        parameters: [
          required('message_id', 'STRING', 'Id of the message.'),
          required('label_name', 'STRING', 'Name of the label.'),
        ],
      },
    ],
  },
  actionToolMap: {
    id: GMAIL_ACTION_TOOL_MAP_ID,
    name: 'Gmail to gmail-mcp',
    description: 'Every Gmail action onto the gmail-mcp tool that performs it.',
  },
};

const googleCalendar: CatalogSuite = {
  id: GOOGLE_CALENDAR_SUITE_ID,
  name: 'Google Calendar',
  description: 'Google Calendar in the browser: events, invitations and free time.',
  actions: [
    {
      name: 'create_event',
      description: 'Put a new event in the calendar.',
      tool: 'create_event',
      parameters: [
        required('title', 'STRING', 'Title of the event.', 'summary'),
        required('start_time', 'STRING', 'Start, ISO 8601.', 'start'),
        required('end_time', 'STRING', 'End, ISO 8601.', 'end'),
        optional('attendees', 'ARRAY', 'Email addresses of the guests.'),
        optional('location', 'STRING', 'Where it takes place.'),
      ],
    },
    {
      name: 'list_events',
      description: 'Look at the events in a time range.',
      tool: 'list_events',
      parameters: [
        optional('time_min', 'STRING', 'Range start, ISO 8601.'),
        optional('time_max', 'STRING', 'Range end, ISO 8601.'),
        optional('max_results', 'NUMBER', 'How many events to return at most.'),
      ],
    },
    {
      name: 'update_event',
      description: 'Change the title or time of an event.',
      tool: 'update_event',
      parameters: [
        required('event_id', 'STRING', 'Id of the event.'),
        optional('title', 'STRING', 'New title.', 'summary'),
        optional('start_time', 'STRING', 'New start, ISO 8601.', 'start'),
        optional('end_time', 'STRING', 'New end, ISO 8601.', 'end'),
      ],
    },
    {
      name: 'delete_event',
      description: 'Delete an event.',
      tool: 'delete_event',
      parameters: [
        required('event_id', 'STRING', 'Id of the event.'),
        optional('notify_attendees', 'BOOLEAN', 'Email the guests about the cancellation.', 'send_updates'),
      ],
    },
    {
      name: 'respond_to_invitation',
      description: 'Accept, decline or tentatively accept an invitation.',
      tool: 'respond_to_event',
      parameters: [
        required('event_id', 'STRING', 'Id of the event.'),
        required('response', 'STRING', 'accepted, declined or tentative.', 'response_status'),
      ],
    },
  ],
  mcpServer: {
    id: GOOGLE_CALENDAR_MCP_SERVER_ID,
    name: 'google-calendar-mcp',
    description: 'MCP server over the Google Calendar API.',
    url: null,
    tools: [
      {
        name: 'create_event',
        description: 'Create an event in the primary calendar.',
        parameters: [
          required('summary', 'STRING', 'Title of the event.'),
          required('start', 'STRING', 'Start, ISO 8601.'),
          required('end', 'STRING', 'End, ISO 8601.'),
          optional('attendees', 'ARRAY', 'Email addresses of the attendees.'),
          optional('location', 'STRING', 'Location.'),
          optional('description', 'STRING', 'Notes shown with the event.'),
        ],
      },
      {
        name: 'list_events',
        description: 'List events of the primary calendar in a time range.',
        parameters: [
          optional('time_min', 'STRING', 'Lower bound, ISO 8601.'),
          optional('time_max', 'STRING', 'Upper bound, ISO 8601.'),
          optional('max_results', 'NUMBER', 'Maximum number of events.'),
        ],
      },
      {
        name: 'update_event',
        description: 'Patch an event.',
        parameters: [
          required('event_id', 'STRING', 'Id of the event.'),
          optional('summary', 'STRING', 'New title.'),
          optional('start', 'STRING', 'New start, ISO 8601.'),
          optional('end', 'STRING', 'New end, ISO 8601.'),
        ],
      },
      {
        name: 'delete_event',
        description: 'Delete an event.',
        parameters: [
          required('event_id', 'STRING', 'Id of the event.'),
          optional('send_updates', 'BOOLEAN', 'Notify the attendees.'),
        ],
      },
      {
        name: 'respond_to_event',
        description: "Set the user's response to an invitation.",
        parameters: [
          required('event_id', 'STRING', 'Id of the event.'),
          required('response_status', 'STRING', 'accepted, declined or tentative.'),
        ],
      },
    ],
  },
  actionToolMap: {
    id: GOOGLE_CALENDAR_ACTION_TOOL_MAP_ID,
    name: 'Google Calendar to google-calendar-mcp',
    description: 'Every Google Calendar action onto the google-calendar-mcp tool that performs it.',
  },
};

const github: CatalogSuite = {
  id: GITHUB_SUITE_ID,
  name: 'GitHub',
  description: 'GitHub in the browser: issues, pull requests, repositories and workflows.',
  actions: [
    {
      name: 'create_issue',
      description: 'Open a new issue in a repository.',
      tool: 'create_issue',
      parameters: [
        required('repository', 'STRING', 'owner/name of the repository.', 'repo'),
        required('title', 'STRING', 'Title of the issue.'),
        optional('body', 'STRING', 'Markdown body.'),
        optional('labels', 'ARRAY', 'Label names.'),
      ],
    },
    {
      name: 'comment_on_issue',
      description: 'Comment on an issue or pull request.',
      tool: 'add_issue_comment',
      parameters: [
        required('repository', 'STRING', 'owner/name of the repository.', 'repo'),
        required('issue_number', 'NUMBER', 'Number of the issue or pull request.'),
        required('body', 'STRING', 'Markdown body.'),
      ],
    },
    {
      name: 'create_pull_request',
      description: 'Open a pull request from one branch into another.',
      tool: 'create_pull_request',
      parameters: [
        required('repository', 'STRING', 'owner/name of the repository.', 'repo'),
        required('title', 'STRING', 'Title of the pull request.'),
        required('head', 'STRING', 'Branch with the changes.'),
        required('base', 'STRING', 'Branch to merge into.'),
        optional('body', 'STRING', 'Markdown description.'),
        optional('draft', 'BOOLEAN', 'Open it as a draft.'),
      ],
    },
    {
      name: 'merge_pull_request',
      description: 'Merge a pull request.',
      tool: 'merge_pull_request',
      parameters: [
        required('repository', 'STRING', 'owner/name of the repository.', 'repo'),
        required('pull_number', 'NUMBER', 'Number of the pull request.'),
        optional('merge_method', 'STRING', 'merge, squash or rebase.'),
      ],
    },
    {
      name: 'search_repositories',
      description: 'Search repositories.',
      tool: 'search_repositories',
      parameters: [
        required('query', 'STRING', 'GitHub search query.'),
        optional('max_results', 'NUMBER', 'How many repositories to return at most.', 'per_page'),
      ],
    },
    {
      name: 'run_workflow',
      description: 'Start a GitHub Actions workflow by hand.',
      tool: 'run_workflow',
      parameters: [
        required('repository', 'STRING', 'owner/name of the repository.', 'repo'),
        required('workflow', 'STRING', 'Workflow file name or id.', 'workflow_id'),
        required('ref', 'STRING', 'Branch or tag to run on.'),
        optional('inputs', 'OBJECT', 'Inputs the workflow declares, by name.'),
      ],
    },
  ],
  mcpServer: {
    id: GITHUB_MCP_SERVER_ID,
    name: 'github-mcp',
    description: 'MCP server over the GitHub REST API.',
    url: null,
    tools: [
      {
        name: 'create_issue',
        description: 'Create an issue.',
        parameters: [
          required('repo', 'STRING', 'owner/name.'),
          required('title', 'STRING', 'Issue title.'),
          optional('body', 'STRING', 'Issue body, Markdown.'),
          optional('labels', 'ARRAY', 'Labels to apply.'),
          optional('assignees', 'ARRAY', 'Logins to assign.'),
        ],
      },
      {
        name: 'add_issue_comment',
        description: 'Add a comment to an issue or pull request.',
        parameters: [
          required('repo', 'STRING', 'owner/name.'),
          required('issue_number', 'NUMBER', 'Issue or pull request number.'),
          required('body', 'STRING', 'Comment body, Markdown.'),
        ],
      },
      {
        name: 'create_pull_request',
        description: 'Create a pull request.',
        parameters: [
          required('repo', 'STRING', 'owner/name.'),
          required('title', 'STRING', 'Title.'),
          required('head', 'STRING', 'Head branch.'),
          required('base', 'STRING', 'Base branch.'),
          optional('body', 'STRING', 'Description, Markdown.'),
          optional('draft', 'BOOLEAN', 'Create as draft.'),
        ],
      },
      {
        name: 'merge_pull_request',
        description: 'Merge a pull request.',
        parameters: [
          required('repo', 'STRING', 'owner/name.'),
          required('pull_number', 'NUMBER', 'Pull request number.'),
          optional('merge_method', 'STRING', 'merge, squash or rebase.'),
        ],
      },
      {
        name: 'search_repositories',
        description: 'Search repositories.',
        parameters: [
          required('query', 'STRING', 'Search query.'),
          optional('per_page', 'NUMBER', 'Results per page (max 100).'),
        ],
      },
      {
        name: 'run_workflow',
        description: 'Create a workflow_dispatch event.',
        parameters: [
          required('repo', 'STRING', 'owner/name.'),
          required('workflow_id', 'STRING', 'Workflow file name or id.'),
          required('ref', 'STRING', 'Git reference.'),
          optional('inputs', 'OBJECT', 'Workflow inputs.'),
        ],
      },
    ],
  },
  actionToolMap: {
    id: GITHUB_ACTION_TOOL_MAP_ID,
    name: 'GitHub to github-mcp',
    description: 'Every GitHub action onto the github-mcp tool that performs it.',
  },
};

export const CATALOG_SUITES: CatalogSuite[] = [gmail, googleCalendar, github];
