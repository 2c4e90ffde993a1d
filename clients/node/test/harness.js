// Starts the built binaries for the end-to-end suite: bin/fakehubspot (the
// fake HubSpot, seeded with a demo account) and bin/scopeguard serve pointed
// at it. Both listen on free ports; addresses are read from their output.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The name the apps file gives the fake's demo app. */
export const appName = "shop";

/**
 * startFakeHubSpot starts bin/fakehubspot and resolves to
 * { seed, stop } once it has printed its seed line (URL and demo credentials).
 */
export async function startFakeHubSpot() {
  const child = killOnExit(spawn(join(repoRoot, "bin/fakehubspot"), [], { stdio: ["ignore", "pipe", "pipe"] }));
  const stdout = watch(child, child.stdout);
  watch(child, child.stderr);
  const line = await stdout.line(() => true);
  return { seed: JSON.parse(line), stop: () => stop(child) };
}

/**
 * startScopeGuard starts bin/scopeguard serve against the fake HubSpot, with
 * an apps file naming the seed's demo app, and resolves to
 * { address, stop, log } once it logs that it is serving. stop() sends SIGTERM
 * and resolves to the exit code; log() is everything it logged so far.
 */
export async function startScopeGuard(seed) {
  const dir = await mkdtemp(join(tmpdir(), "scopeguard-node-test-"));
  const appsFile = join(dir, "apps.yaml");
  // JSON is YAML. The secret comes from the environment, as the apps file
  // recommends, so it never sits in the file.
  await writeFile(appsFile, JSON.stringify({
    apps: { [appName]: { client_id: seed.client_id, client_secret_env: "SCOPEGUARD_TEST_CLIENT_SECRET" } },
  }));
  const child = killOnExit(spawn(join(repoRoot, "bin/scopeguard"), [
    "serve",
    "--listen", "127.0.0.1:0",
    "--metrics-listen", "127.0.0.1:0",
    "--log-format", "json",
    "--hubspot-api-url", seed.url,
    "--apps-file", appsFile,
    // Nothing balances load in front of a test server: stop without a drain.
    "--shutdown-drain", "0s",
  ], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, SCOPEGUARD_TEST_CLIENT_SECRET: seed.client_secret },
  }));
  const log = watch(child, child.stderr);
  const stopAndClean = async () => {
    try {
      return await stop(child);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  let serving;
  try {
    serving = await log.line((line) => parseLog(line)?.msg === "serving");
  } catch (error) {
    await stopAndClean();
    throw error;
  }
  return { address: parseLog(serving).addr, stop: stopAndClean, log: log.text };
}

/**
 * killOnExit makes sure child does not outlive the test process, even when a
 * test fails or times out before stopping it.
 */
function killOnExit(child) {
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  return child;
}

/** parseLog parses one JSON log line; undefined for anything else. */
function parseLog(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * watch reads a process's output stream to its end (so the process never
 * blocks on a full pipe), keeps it all for failure messages, and returns
 * { text(), line(matches) }: line resolves to the first complete line that
 * matches, or rejects if the process exits first.
 */
function watch(child, stream) {
  let text = "";
  let waiters = [];
  let failure;
  const settle = () => {
    const lines = text.split("\n").slice(0, -1);
    waiters = waiters.filter(({ matches, resolve }) => {
      const line = lines.find(matches);
      if (line !== undefined) {
        resolve(line);
        return false;
      }
      return true;
    });
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    text += chunk;
    settle();
  });
  const failAll = (error) => {
    failure = error;
    for (const { reject } of waiters) {
      reject(error);
    }
    waiters = [];
  };
  child.on("error", failAll);
  stream.on("close", () => {
    settle();
    const report = () => failAll(new Error(
      `${child.spawnfile} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${text}`));
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.once("exit", report);
    } else {
      report();
    }
  });
  return {
    text: () => text,
    line: (matches) => new Promise((resolve, reject) => {
      waiters.push({ matches, resolve, reject });
      settle();
      if (failure !== undefined) {
        failAll(failure);
      }
    }),
  };
}

/** stop sends SIGTERM (unless the process already exited) and resolves to its exit code. */
async function stop(child) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return child.exitCode;
  }
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const [code] = await exited;
  return code;
}
