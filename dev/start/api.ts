/** A small client of the app's own HTTP API, as the dashboard and an operator's script call it. */
export interface ApiClient {
  get<T>(path: string, options?: { abortSignal?: AbortSignal }): Promise<T>;
  post<T>(path: string, body?: unknown, options?: { abortSignal?: AbortSignal }): Promise<T>;
}

export class ApiCallError extends Error {
  override readonly name = "ApiCallError";
  constructor(
    message: string,
    readonly statusCode: number,
    readonly code: string | undefined,
    /** The answer's `error` object (message, fix and any fields of its own), when it had one. */
    readonly error: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function createApiClient(options: { baseUrl: string; functionKey: string; token: string }): ApiClient {
  const call = async <T>(
    method: string,
    path: string,
    body: unknown,
    abortSignal?: AbortSignal,
  ): Promise<T> => {
    const headers: Record<string, string> = {
      "x-functions-key": options.functionKey,
      authorization: `Bearer ${options.token}`,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(new URL(`/api/${path.replace(/^\//, "")}`, options.baseUrl), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(abortSignal ? { signal: abortSignal } : {}),
    });
    const text = await res.text();
    const json =
      text && res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as unknown) : text;
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } }).error;
      throw new ApiCallError(
        `${method} /api/${path}: ${res.status} ${error?.message ?? (typeof json === "string" ? json : "")}`.trim(),
        res.status,
        error?.code,
        error ?? {},
      );
    }
    return json as T;
  };
  return {
    get: (path, o = {}) => call("GET", path, undefined, o.abortSignal),
    post: (path, body, o = {}) => call("POST", path, body ?? {}, o.abortSignal),
  };
}
