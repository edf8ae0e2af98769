import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./bicep.js";

function read(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

/** The Node major Azure Functions runs the app on: `runtime.version` in infra/app/function-app.bicep. */
function deployedNodeMajor(): number {
  const match = /runtime: \{\s*name: 'node'\s*version: '(\d+)'\s*\}/.exec(
    read("infra/app/function-app.bicep"),
  );
  if (!match?.[1]) throw new Error("infra/app/function-app.bicep sets no node runtime version");
  return Number(match[1]);
}

/** Node majors package.json `engines.node` allows, written as `^X.Y.Z || ^X.Y.Z`. */
function enginesMajors(): number[] {
  const range = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
  return range.split("||").map((part) => {
    const major = /^\^(\d+)(?:\.\d+){0,2}$/.exec(part.trim())?.[1];
    if (!major) throw new Error(`package.json engines.node "${range}" is not "^X.Y.Z || ^X.Y.Z"`);
    return Number(major);
  });
}

describe("Node runtime", () => {
  it("deploys Node 22, the version Azure Functions supports after Node 20's end of support", () => {
    expect(deployedNodeMajor()).toBe(22);
  });

  it("allows Node 20 (developer machines) and the deployed major in package.json engines", () => {
    expect(enginesMajors()).toEqual([20, deployedNodeMajor()]);
  });

  it("runs the Node 22 unit suite on the same major the Function App is deployed with", () => {
    const pinned = /^PINNED_VERSION="(\d+)\.\d+\.\d+"$/m.exec(read("tools/install-node.sh"))?.[1];
    expect(Number(pinned)).toBe(deployedNodeMajor());
    expect(JSON.parse(read("package.json")).scripts["test:node22"]).toBe("bash tools/test-node22.sh");
    expect(read(".ci/run")).toContain("npm run test:node22");
  });

  it("says in the README which Node the app is deployed on", () => {
    expect(read("README.md")).toMatch(/Node(?:\.js)? 22/);
  });

  it.skipIf(!process.env.PGFLEX_EXPECT_NODE_MAJOR)(
    `runs on Node ${process.env.PGFLEX_EXPECT_NODE_MAJOR ?? "(any)"} as the runner asked`,
    () => {
      expect(process.versions.node.split(".")[0]).toBe(process.env.PGFLEX_EXPECT_NODE_MAJOR);
    },
  );
});
