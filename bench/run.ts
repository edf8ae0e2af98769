import { main } from "./lib/cli.js";
import { benchmarks } from "./index.js";

process.exitCode = await main("bench", benchmarks);
