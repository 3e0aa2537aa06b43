import { ApiError } from '../errors/apiError.js';

/* The 404s of the parents, which both the parent's service and its children's service give. */

export function suiteNotFound(): ApiError {
  return ApiError.notFound('No suite with this id.');
}

export function mcpServerNotFound(): ApiError {
  return ApiError.notFound('No MCP server with this id.');
}
