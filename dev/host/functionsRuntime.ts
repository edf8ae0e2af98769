/**
 * The @azure/functions classes the host constructs. The package is a webpack-built CommonJS bundle
 * whose classes Node's ESM loader cannot see as named exports (`import { HttpRequest }` fails under
 * plain Node, though bundlers and vitest accept it), so they are read from the default export.
 */
import functions from "@azure/functions";

export const { HttpRequest, HttpResponse, InvocationContext } = functions;
