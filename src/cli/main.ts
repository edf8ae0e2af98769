/** Entry of `npx pgflex-autoprotect` (bin/pgflex-autoprotect.js loads this file or its build). */
import { runCli } from "./program.js";

process.exitCode = await runCli(process.argv.slice(2));
