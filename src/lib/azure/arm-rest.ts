import { getClient } from "@azure-rest/core-client";
import type { Client, ClientOptions } from "@azure-rest/core-client";
import { createHttpPoller } from "@azure/core-lro";
import type { OperationState, PollerLike, OperationResponse } from "@azure/core-lro";
import type { HttpClient, PipelineRequest } from "@azure/core-rest-pipeline";
import type { TokenCredential } from "@azure/core-auth";
import type { AbortSignalLike } from "@azure/abort-controller";
import { createArmError, readArmError } from "./arm-error.js";
import type { Page } from "./paging.js";

/**
 * A small ARM transport on @azure-rest/core-client: JSON in and out, non-2xx turned into a typed RestError,
 * LROs on @azure/core-lro with `Azure-AsyncOperation`/`Location` URLs used verbatim and `Retry-After` honoured.
 * Provider clients (dataprotection/) build their operations on it.
 */

export interface ArmRestClientOptions {
  /** ARM endpoint; default https://management.azure.com. Locally the emulator. */
  endpoint?: string;
  apiVersion: string;
  /** Token scopes; default `${endpoint}/.default`. */
  credentialScopes?: string[];
  /** E.g. the shared pacing policy (position "perCall"). */
  additionalPolicies?: ClientOptions["additionalPolicies"];
  /** Retries are owned by the pacing policy when present; default keeps core-rest-pipeline's defaults. */
  retryOptions?: ClientOptions["retryOptions"];
  httpClient?: HttpClient;
  /** E.g. `{ ca }` to trust the local emulator's certificate. */
  tlsOptions?: ClientOptions["tlsOptions"];
  /** Each request (not each LRO) is abandoned after this long. Default 60000. */
  requestTimeoutInMs?: number;
  /** Only for loopback test servers. */
  allowInsecureConnection?: boolean;
  userAgentPrefix?: string;
}

export interface RequestOptions {
  abortSignal?: AbortSignalLike;
}

export interface ArmResponse<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
  request: PipelineRequest;
}

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "PATCH";

export interface ArmRestClient {
  readonly endpoint: string;
  /** Sends one request; `path` is a path under the endpoint or an absolute URL (used verbatim). */
  send<T>(
    method: HttpMethod,
    path: string,
    options?: RequestOptions & {
      body?: unknown;
      query?: Record<string, string | undefined>;
      expected?: number[];
    },
  ): Promise<ArmResponse<T>>;
  /** GET of one page of an ARM list (`{ value, nextLink }`). */
  getPage<T>(
    path: string,
    nextLink: string | undefined,
    options?: RequestOptions & { query?: Record<string, string | undefined> },
  ): Promise<Page<T>>;
  /**
   * Starts or resumes a long-running operation. Returned synchronously: a core-lro 3 poller is itself a
   * promise (of the result), and the initial request goes out on first `poll`/`submitted`/`await`.
   */
  beginOperation<TResult>(
    inputs: BeginOperationInputs<TResult>,
  ): PollerLike<OperationState<TResult>, TResult>;
}

export interface LroOptions extends RequestOptions {
  /** Poll interval when the service sends no Retry-After. Default 2000 (the service's own operations take tens of seconds). */
  updateIntervalInMs?: number;
  /** A string from `poller.serialize()`: resume polling without sending the request again. */
  resumeFrom?: string;
  /**
   * Ends at the status resource's `Succeeded` without the final GET of the operation's result (core-lro's
   * option of the same name): for a caller that needs only the outcome. Applies to the initial request;
   * a resumed poller keeps what its state says.
   */
  skipFinalGet?: boolean;
}

export interface BeginOperationInputs<TResult> {
  method: HttpMethod;
  path: string;
  body?: unknown;
  options?: LroOptions;
  /** Builds the result from the final response body (the resource for PUT, Location's body for POST). */
  toResult?: (body: unknown) => TResult;
}

const defaultEndpoint = "https://management.azure.com";

export function createArmRestClient(
  credential: TokenCredential,
  options: ArmRestClientOptions,
): ArmRestClient {
  const endpoint = (options.endpoint ?? defaultEndpoint).replace(/\/+$/, "");
  const client: Client = getClient(endpoint, credential, {
    apiVersion: options.apiVersion,
    credentials: { scopes: options.credentialScopes ?? [`${endpoint}/.default`] },
    additionalPolicies: options.additionalPolicies,
    retryOptions: options.retryOptions,
    httpClient: options.httpClient,
    tlsOptions: options.tlsOptions,
    allowInsecureConnection: options.allowInsecureConnection,
    userAgentOptions: { userAgentPrefix: options.userAgentPrefix ?? "pgflex-autoprotect" },
  });

  async function send<T>(
    method: HttpMethod,
    path: string,
    opts: RequestOptions & {
      body?: unknown;
      query?: Record<string, string | undefined>;
      expected?: number[];
    } = {},
  ): Promise<ArmResponse<T>> {
    const queryParameters: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) queryParameters[k] = v;
    const resource = client.pathUnchecked(path);
    const params = {
      abortSignal: opts.abortSignal,
      timeout: options.requestTimeoutInMs ?? 60_000,
      queryParameters,
      ...(opts.body === undefined ? {} : { body: opts.body, contentType: "application/json" }),
      allowInsecureConnection: options.allowInsecureConnection,
    };
    const response =
      method === "GET"
        ? await resource.get(params)
        : method === "PUT"
          ? await resource.put(params)
          : method === "POST"
            ? await resource.post(params)
            : method === "PATCH"
              ? await resource.patch(params)
              : await resource.delete(params);
    const status = Number(response.status);
    const headers = response.headers as Record<string, string>;
    const body = parseBody(response.body);
    const ok = opts.expected ? opts.expected.includes(status) : status >= 200 && status < 300;
    if (!ok) {
      throw createArmError({ statusCode: status, body, request: response.request, headers });
    }
    return { status, headers, body: body as T, request: response.request };
  }

  return {
    endpoint,
    send,
    async getPage<T>(
      path: string,
      nextLink: string | undefined,
      opts: RequestOptions & { query?: Record<string, string | undefined> } = {},
    ) {
      const r = nextLink
        ? await send<{ value?: T[]; nextLink?: string }>("GET", nextLink, { abortSignal: opts.abortSignal })
        : await send<{ value?: T[]; nextLink?: string }>("GET", path, opts);
      return { items: r.body?.value ?? [], nextLink: r.body?.nextLink ?? undefined };
    },
    beginOperation<TResult>(inputs: BeginOperationInputs<TResult>) {
      const { method, path, body, options: lro = {}, toResult } = inputs;
      const toOperationResponse = (r: ArmResponse<unknown>): OperationResponse<unknown> => ({
        flatResponse: r.body,
        rawResponse: {
          statusCode: r.status,
          headers: r.headers,
          body: r.body,
          request: { method: r.request.method, url: r.request.url, body: undefined },
        },
      });
      const poller = createHttpPoller<TResult, OperationState<TResult>>(
        {
          sendInitialRequest: async () =>
            toOperationResponse(await send(method, path, { body, abortSignal: lro.abortSignal })),
          sendPollRequest: async (url: string, pollOptions?: { abortSignal?: AbortSignalLike }) =>
            toOperationResponse(
              await send("GET", url, { abortSignal: pollOptions?.abortSignal ?? lro.abortSignal }),
            ),
        },
        {
          intervalInMs: lro.updateIntervalInMs ?? 2000,
          restoreFrom: lro.resumeFrom,
          resourceLocationConfig: "location",
          ...(lro.skipFinalGet ? { skipFinalGet: true } : {}),
          processResult: async (result: unknown) => (toResult ? toResult(result) : (result as TResult)),
          // A poll answered non-2xx already threw its own RestError. A status resource reading `Failed` makes
          // core-lro report a plain Error (code and message in its text, no status); callers need ARM's code
          // and a status that says what kind of failure it was, so replace it.
          updateState: (state, lastResponse) => {
            if (state.status === "failed") {
              const raw = (lastResponse as OperationResponse<unknown>).rawResponse;
              const detail = readArmError(raw.body);
              state.error = createArmError({
                statusCode: failedOperationStatus(detail?.code),
                body: raw.body,
                headers: raw.headers,
                fallbackMessage: `The long-running operation failed${detail?.code ? `: ${detail.code}` : "."}`,
              });
            }
          },
        },
      );
      return poller;
    },
  };
}

/**
 * The status a failed operation's error carries. The status poll answered 200, which says nothing about the
 * failure: `UserError*` codes (the request or the setup is wrong) read 400, anything else 500 (the service failed).
 */
function failedOperationStatus(code: string | undefined): number {
  return code?.startsWith("UserError") ? 400 : 500;
}

function parseBody(body: unknown): unknown {
  if (typeof body === "string") {
    if (body.trim() === "") return undefined;
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  return body;
}
