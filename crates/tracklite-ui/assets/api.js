// The viewer's JSON API client: one GET helper that turns error bodies
// ({"error_code", "message"}) into ApiError, and the query-string builder.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** "/api/runs" + {a: 1, b: [x, y], c: null} → "/api/runs?a=1&b=x&b=y" (nulls dropped). */
export function apiUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(name, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** GETs a JSON endpoint; throws ApiError with the server's message on a non-2xx answer. */
export async function getJson(path, params = {}, init = {}) {
  const response = await fetch(apiUrl(path, params), init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.message) || text || response.statusText;
    throw new ApiError(response.status, (body && body.error_code) || "HTTP_ERROR", message);
  }
  return body;
}
