/**
 * The slice of an HTTP request the lib needs. `@azure/functions`' HttpRequest satisfies it structurally,
 * so src/lib stays free of trigger types and tests can pass a plain object.
 */
export interface ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
  text(): Promise<string>;
}

/** Structurally compatible with `@azure/functions`' HttpResponseInit. */
export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  jsonBody?: unknown;
}
