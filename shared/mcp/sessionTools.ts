import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { assertMayIncurCost } from '../billing/costPermission.js';
import { CreateSessionJsonBody, SessionListQuery, type SessionUpload } from '../sessions/sessionSchemas.js';
import { createSessionWithUploadUrl, getSession, listSessions } from '../sessions/sessionService.js';
import { z } from '../openapi/zod.js';
import { defineTool, describeFields, idArgument, PAGE_FIELD_DESCRIPTIONS } from './defineTool.js';
import type { McpRequestContext } from './mcpContext.js';
import { CREATES, READ_ONLY, toolResult } from './toolResults.js';

const SESSION_FIELDS =
  '{ id, suite_id, description, storage_path, status, format, file_name, size_bytes, sha256, event_count, ' +
  'event_counts, clock, first_event_at, last_event_at, duration_seconds, screenshot_count, tab_count, url_count, ' +
  'dropped_event_count, skipped_event_count, files, validation_errors, created_at, updated_at }';

/** What to do with an upload description, for an agent that has never seen a SAS URL. */
export function uploadInstructions(sessionId: string, upload: SessionUpload): string[] {
  return [
    `1. Upload the recording (the Tracepipe recorder's JSON Lines, a Chrome trace JSON, an rrweb JSON array, a .zip ` +
      `of the recorder's folder, or JSON Lines with a numeric "ts" in microseconds and a "type") with one HTTP PUT ` +
      `of the whole file to upload.url, with the header "x-ms-blob-type: BlockBlob", before ${upload.expires_at} ` +
      `and at most ${upload.max_bytes} bytes. For example: curl -X PUT -H "x-ms-blob-type: BlockBlob" ` +
      `--data-binary @recording.jsonl "<upload.url>". The URL is the credential: it allows writing this one file ` +
      `only; send no API key with it.`,
    '2. For large files or flaky networks, upload in blocks with the Azure Storage SDK instead: ' +
      '`new BlockBlobClient(upload.url).uploadFile(path)` (JavaScript) or ' +
      '`BlobClient.from_blob_url(upload.url).upload_blob(data, overwrite=True)` (Python).',
    `3. Call get_session with session_id ${sessionId} until status is "ready" (or "invalid", with ` +
      'validation_errors naming the lines, events or zip entries). Indexing starts as soon as the upload completes; ' +
      'once ready, the session does not change.',
    '4. Then call create_example with this session_id and a model_id from list_models.',
  ];
}

/** The session reads and the JSON create of /v1/sessions (the multipart form is for HTTP clients, not agents). */
export function registerSessionTools(server: McpServer, context: McpRequestContext): void {
  const { db, auth } = context;

  defineTool(server, context, {
    name: 'list_sessions',
    title: 'List your sessions',
    description:
      'Lists your recorded sessions (uploaded traces), newest first, optionally of one suite. Returns `{ items: ' +
      `[${SESSION_FIELDS}], total, page, per_page }\`. status is awaiting_upload, processing, ready or invalid; ` +
      'only ready sessions can make examples. A key limited to some suites sees only theirs.',
    input: describeFields(SessionListQuery, {
      ...PAGE_FIELD_DESCRIPTIONS,
      suite_id: 'Only sessions of this suite.',
    }),
    annotations: READ_ONLY,
    run: async (args) => toolResult(await listSessions(db, auth, args)),
  });

  defineTool(server, context, {
    name: 'get_session',
    title: 'Get a session',
    description:
      `One session of yours: ${SESSION_FIELDS}. Poll it after an upload until status is ready or invalid ` +
      '(validation_errors then lists the first problems by line). Someone else\'s or an unknown id: error not_found.',
    input: z.object({ session_id: idArgument('The session id.') }),
    annotations: READ_ONLY,
    run: async ({ session_id }) => toolResult(await getSession(db, auth, session_id)),
  });

  defineTool(server, context, {
    name: 'create_session',
    title: 'Create a session and get its upload URL',
    description:
      'Creates a session (status awaiting_upload) for a trace of one suite and returns `{ session, upload: { url, ' +
      'method: "PUT", headers, expires_at, max_bytes }, instructions }`: upload.url is a short-lived SAS URL to PUT ' +
      'the trace file to, straight to storage; instructions says how, step by step. Limited to 10 a minute per ' +
      'key. Errors: validation_error for a suite that does not exist, forbidden for a suite the key is not ' +
      'limited to, rate_limited, payment_required (billing on, and the account may not incur cost now).',
    input: describeFields(CreateSessionJsonBody, {
      suite_id: 'The suite (application) the recording is of, from list_suites.',
      description: 'Free text about the recording, at most 2000 characters.',
      format:
        'The recording\'s format, if you know it: recorder-jsonl, tracepipe-jsonl, chrome-trace, recorder-bundle ' +
        '(a .zip of the recorder\'s folder) or rrweb. Left out, it is recognised from the content.',
      file_name: 'The file name of the recording (kept with the original), e.g. recording.zip.',
      skip_invalid_lines: 'true to keep the valid events of a recording that has some invalid ones (default false).',
    }),
    annotations: CREATES,
    run: async (args) => {
      await context.countAgainst('session_create');
      await assertMayIncurCost(context.costCheck, auth.userId);
      const { upload, ...session } = await createSessionWithUploadUrl({ db, blobs: context.blobs, config: context.config }, auth, args);
      const instructions = uploadInstructions(session.id, upload);
      return toolResult({ session, upload, instructions }, instructions.join('\n'));
    },
  });
}
