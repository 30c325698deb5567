/**
 * The agent image rebuilt with no change and after a change outside its build context: every layer must
 * come from BuildKit's cache and the image ID stay the same.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../components/config/stack-schema";
import { imageBuildPlan } from "../../components/image/build-plan";
import { imageAgent } from "../../components/package-files";
import { BUILD_CLI, BUILD_ENV } from "../../testkit/live/engine";
import { HOST_CA_BUNDLE, LOCAL_IMAGES } from "../../testkit/live/live-program";
import { docker } from "./engine-measures";
import type { Recorder } from "./isolation";

const ROOT = path.resolve(__dirname, "../..");
const STACK = `bench-${process.pid}`;

interface BuildResult {
  readonly seconds: number;
  /** Dockerfile steps BuildKit ran or took from its cache, and how many of them came from the cache. */
  readonly steps: number;
  readonly cached: number;
  readonly id: string;
}

function build(tag: string, buildArgs: Record<string, string>): BuildResult {
  const args = ["build", "--progress", "plain", "--secret", `id=extra_ca,src=${HOST_CA_BUNDLE}`];
  for (const [name, value] of Object.entries(buildArgs)) args.push("--build-arg", `${name}=${value}`);
  const started = Date.now();
  const result = spawnSync(BUILD_CLI, [...args, "-t", tag, "docker/agent"], { cwd: ROOT, encoding: "utf8", env: BUILD_ENV });
  if (result.status !== 0) throw new Error(`agent image build failed:\n${result.stderr}`);
  const seconds = (Date.now() - started) / 1000;
  // BuildKit's plain progress (on stderr) names each step "#N [stage k/n] ..." and marks reuse "#N CACHED".
  const log = `${result.stdout}${result.stderr}`;
  // FROM steps only name a base image: there is nothing to build or cache, so they are not counted.
  const stepIds = new Set([...log.matchAll(/^#(\d+) \[[^\]]*\d+\/\d+\] (?!FROM )/gm)].map((match) => match[1]));
  const cachedIds = new Set([...log.matchAll(/^#(\d+) CACHED$/gm)].map((match) => match[1]));
  return {
    seconds,
    steps: stepIds.size,
    cached: [...stepIds].filter((id) => cachedIds.has(id)).length,
    id: docker(["image", "inspect", "-f", "{{.Id}}", tag]),
  };
}

const describeBuild = (build: BuildResult, first: BuildResult) =>
  `${build.seconds.toFixed(1)} s, ${build.cached}/${build.steps} steps from cache, same image ID: ${build.id === first.id}`;

export function benchRebuild(record: Recorder): void {
  const config = parseStackConfig({ workspace: "/tmp", image: { ...LOCAL_IMAGES } }, { homeDir: "/nonexistent" });
  const { buildArgs } = imageBuildPlan(config.image, { project: "agent-sandbox", stack: STACK }, imageAgent());
  const tag = `agent-sandbox/agent:${STACK}`;
  // A file beside the build context (docker/agent): editing the repository must not rebuild the image.
  const outside = path.join(ROOT, "docker", `.bench-outside-context-${process.pid}`);
  try {
    const first = build(tag, buildArgs);
    record("agent image build (first in this run)", `${first.seconds.toFixed(1)} s`);
    record("rebuild with no change", describeBuild(build(tag, buildArgs), first), "target: every layer reused");
    fs.writeFileSync(outside, String(Date.now()));
    record("rebuild after a change outside the build context", describeBuild(build(tag, buildArgs), first), "target: every layer reused");
  } finally {
    fs.rmSync(outside, { force: true });
    docker(["rmi", tag]);
  }
}
