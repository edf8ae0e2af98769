/**
 * Entry module of the Functions app (package.json "main"). Importing a function module declares it
 * through ./registry.ts; each module loads its heavy SDKs lazily so cold start stays small.
 */
import "./health.js";
import "./apiBackups.js";
import "./apiJobs.js";
import "./apiServers.js";
import "./pollJobs.js";
import "./scheduledBackups.js";
import "./purgeHistory.js";
import "./onResourceEvent.js";
import "./protectServer.js";
import "./sweepTimer.js";
import "./sweepScope.js";
import "./apiSweeps.js";
import "./dashboard.js";
import "./apiRestores.js";
import "./trackRestores.js";
import "./apiRestoreTestSummaries.js";
import "./apiRestoreTests.js";
import "./restoreTests.js";
