/**
 * Issue #24's image sizes: the agent image and the proxies' image, each against its floor, the least an image
 * holding what it must run could weigh on the same base (target: each within 1.15x of its floor):
 *   - the agent image's floor: the base image plus the Claude Code CLI's installed size (its one binary,
 *     /usr/local/bin/claude). git, curl and their libraries, the `agent` user and the image's scripts are
 *     what the ratio allows above it.
 *   - the proxies' image's floor: the base image plus the files Squid and nginx need to serve the generated
 *     configurations: their two executables, the shared libraries those load that the base lacks (by `ldd`
 *     in the image), and Squid's data (/usr/share/squid: mime.conf, the icons it loads at start, the error
 *     page templates). The configurations load no nginx module and no Squid helper.
 * Both images are built from the working tree on the local bases (LOCAL_IMAGES) with the engine's BuildKit,
 * as the rebuild rows do: a second run takes every step from the cache and builds nothing. Sizes are the
 * engine's (`docker image inspect`, uncompressed), in MB of 10^6 bytes as `docker images` prints them.
 * Run it alone with `npm run bench -- --only image`.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parseStackConfig } from "../../components/config/stack-schema";
import { imageBuildPlan } from "../../components/image/build-plan";
import { imageAgent } from "../../components/package-files";
import { BUILD_CLI, BUILD_ENV, LOCAL_IMAGES, labelArgs, testLabels } from "../../testkit/live/engine";
import { HOST_CA_BUNDLE } from "../../testkit/live/live-program";
import { docker } from "./engine-measures";
import type { Recorder } from "./isolation";

const ROOT = path.resolve(__dirname, "../..");
/** Issue #24's target for both images: size / floor. */
export const IMAGE_SIZE_TARGET = 1.15;
const STACK = `bench-image-${process.pid}`;

/** The CLI inside the agent image: the floor counts its installed size. */
const CLI_PATH = "/usr/local/bin/claude";
/** What the proxies run, and the data Squid reads at start and for its error pages. */
const PROXY_EXECUTABLES = ["/usr/sbin/squid", "/usr/sbin/nginx"];
const SQUID_DATA = ["/usr/share/squid/mime.conf", "/usr/share/squid/icons", "/usr/share/squid/errors/templates"];

function build(tag: string, context: string, buildArgs: Record<string, string>): void {
  const args = ["build", "--quiet", "--secret", `id=extra_ca,src=${HOST_CA_BUNDLE}`];
  for (const [name, value] of Object.entries(buildArgs)) args.push("--build-arg", `${name}=${value}`);
  const result = spawnSync(BUILD_CLI, [...args, "-t", tag, context], { cwd: ROOT, encoding: "utf8", env: BUILD_ENV });
  if (result.status !== 0) throw new Error(`${context} build failed:\n${result.stderr}`);
}

const imageBytes = (image: string): number => Number(docker(["image", "inspect", "-f", "{{.Size}}", image]));

/** Runs a POSIX shell script as root in a throwaway container of the image, without network; its stdout. */
function shellIn(image: string, script: string, args: string[] = []): string {
  return docker([
    "run",
    "--rm",
    "--network",
    "none",
    "--user",
    "0",
    ...labelArgs(testLabels("bench-image")),
    "--entrypoint",
    "sh",
    image,
    "-c",
    script,
    "sh",
    ...args,
  ]);
}

/** Bytes of the files (symlinks followed) under each path; `find -L` counts a file reached twice twice, which these paths do not do. */
const FILE_BYTES = `find -L "$@" -type f -exec stat -L -c '%s' {} + | awk '{ s += $1 } END { print s + 0 }'`;

/** The agent image's floor: base + the CLI's installed size. */
export function agentImageFloor(image: string, baseImage: string): { bytes: number; cliBytes: number } {
  const cliBytes = Number(shellIn(image, FILE_BYTES, [CLI_PATH]));
  if (!(cliBytes > 0)) throw new Error(`${image} has no ${CLI_PATH}`);
  return { bytes: imageBytes(baseImage) + cliBytes, cliBytes };
}

/** The proxies' image's floor: base + Squid's and nginx's executables, the libraries they load that the base lacks, Squid's data. */
export function proxyImageFloor(image: string, baseImage: string): { bytes: number; essentialBytes: number } {
  // Every library the executables load, resolved to the file behind its symlinks.
  const libraries = shellIn(
    image,
    `ldd "$@" | awk '$2 == "=>" && $3 ~ /^\\// { print $3 } $1 ~ /^\\// { print $1 }' | xargs readlink -f | sort -u`,
    PROXY_EXECUTABLES,
  )
    .split("\n")
    .filter(Boolean);
  // Paths the base already holds are in its size; a library the install upgraded is not part of the floor.
  const inBase = new Set(shellIn(baseImage, `for f; do [ -e "$f" ] && echo "$f"; done; true`, libraries).split("\n").filter(Boolean));
  const added = libraries.filter((library) => !inBase.has(library));
  const essentialBytes = Number(shellIn(image, FILE_BYTES, [...PROXY_EXECUTABLES, ...added, ...SQUID_DATA]));
  return { bytes: imageBytes(baseImage) + essentialBytes, essentialBytes };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const ratioOf = (size: number, floor: number): string => `${(size / floor).toFixed(3)}x`;
const targetOf = (size: number, floor: number): string => `target <= ${IMAGE_SIZE_TARGET}x: ${size / floor <= IMAGE_SIZE_TARGET ? "met" : "missed"}`;

export function benchImageSize(record: Recorder): void {
  const config = parseStackConfig({ workspace: "/tmp", image: { ...LOCAL_IMAGES } }, { homeDir: "/nonexistent" });
  const { buildArgs } = imageBuildPlan(config.image, { project: "agent-sandbox", stack: STACK }, imageAgent());
  const baseImage = config.image.baseImage;
  const agentTag = `agent-sandbox/agent:${STACK}`;
  const proxyTag = `agent-sandbox/egress-proxy:${STACK}`;
  try {
    build(agentTag, "docker/agent", buildArgs);
    build(proxyTag, "docker/proxies", { BASE_IMAGE: baseImage });
    const base = imageBytes(baseImage);

    const agent = imageBytes(agentTag);
    const agentFloor = agentImageFloor(agentTag, baseImage);
    record("agent image size", mb(agent));
    record(`agent image floor: base ${mb(base)} + the CLI ${mb(agentFloor.cliBytes)}`, mb(agentFloor.bytes));
    record("agent image / floor", ratioOf(agent, agentFloor.bytes), targetOf(agent, agentFloor.bytes));

    const proxy = imageBytes(proxyTag);
    const proxyFloor = proxyImageFloor(proxyTag, baseImage);
    record("proxies' image size", mb(proxy));
    record(`proxies' image floor: base ${mb(base)} + Squid's and nginx's essential files ${mb(proxyFloor.essentialBytes)}`, mb(proxyFloor.bytes));
    record("proxies' image / floor", ratioOf(proxy, proxyFloor.bytes), targetOf(proxy, proxyFloor.bytes));
  } finally {
    // The tags only (a failed build left none); the layers stay in BuildKit's cache, so the next run builds nothing.
    spawnSync("docker", ["rmi", agentTag, proxyTag], { stdio: "ignore" });
  }
}
