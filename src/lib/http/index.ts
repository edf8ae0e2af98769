export * from "./types.js";
export * from "./errors.js";
export * from "./requestId.js";
export * from "./body.js";
export * from "./query.js";
export * from "./handler.js";
export { authorize, createAuthorizer, type Authorize } from "../auth/authorize.js";
export { Roles, type Role } from "../auth/roles.js";
