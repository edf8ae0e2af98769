// Preloaded into the Azurite child (node --require): the parent holds the write end of stdin, so
// when the parent exits for any reason, even SIGKILL, stdin ends and Azurite goes with it.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
// Watching stdin must not keep Azurite alive after a graceful SIGTERM has closed its servers.
if (typeof process.stdin.unref === "function") process.stdin.unref();
