import { request } from "node:https";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A plain HTTPS call to the emulator, to see status codes and headers exactly as sent. */
export function armCall(
  baseUrl: string,
  ca: string,
  method: string,
  pathOrUrl: string,
  body?: unknown,
  apiVersion = "2024-04-01",
): Promise<RawResponse> {
  const url = new URL(pathOrUrl.startsWith("https://") ? pathOrUrl : `${baseUrl}${pathOrUrl}`);
  if (!url.searchParams.has("api-version")) url.searchParams.set("api-version", apiVersion);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        headers: {
          authorization: "Bearer emulator-token",
          ...(payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: text ? (JSON.parse(text) as unknown) : undefined,
          });
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}
