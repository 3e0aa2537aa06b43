import type { HttpResponseInit } from '@azure/functions';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers } };
}

export function noContent(headers: Record<string, string> = {}): HttpResponseInit {
  return { status: 204, headers };
}
