import { main } from "../bench/lib/cli.js";
import { drills } from "./index.js";

process.exitCode = await main("drills", drills);
