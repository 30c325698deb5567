/**
 * Issue #25's rows: the local cluster of scripts/setup-kubernetes.sh. `kubernetes-build` builds its
 * binaries from nothing (an empty Go build cache and binary cache; the module downloads stay, they are not
 * the build). `kubernetes` restarts the cluster from its cached binaries and times the script until the
 * node is Ready and CoreDNS answers (median of RESTARTS), then sums the resident memory of the control
 * plane's processes, and of the node's, after IDLE_SECONDS with nothing deployed. Both need root.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatMiB, median } from "./engine-measures";
import type { Recorder } from "./isolation";

const SCRIPT = path.resolve(__dirname, "..", "setup-kubernetes.sh");
const STATE_DIR = "/run/agent-sandbox-kubernetes";
const RESTARTS = 3;
const IDLE_SECONDS = 30;
const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const NODE = ["containerd", "kubelet", "kube-proxy", "kube-router"];

/** Runs setup-kubernetes.sh; returns its wall time in seconds, or throws with its output. */
function setup(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`setup-kubernetes.sh ${args.join(" ")} exited ${result.status}:\n${result.stderr.slice(-4000)}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Resident memory of a daemon setup-kubernetes.sh recorded, in MiB. */
function residentMiB(daemon: string): number {
  const pid = fs.readFileSync(path.join(STATE_DIR, `${daemon}.pid`), "utf8").trim();
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!rss) throw new Error(`no VmRSS for ${daemon} (pid ${pid})`);
  return Number(rss[1]) / 1024;
}

export function benchKubernetesBuild(record: Recorder): void {
  if (process.getuid?.() !== 0) {
    record("cluster cold build", "not measured: needs root");
    return;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "agent-sandbox-bench-k8s-"));
  try {
    const seconds = setup(["--build-only"], { GOCACHE: path.join(scratch, "go-build"), AGENT_SANDBOX_KUBERNETES_CACHE: path.join(scratch, "cache") });
    record(`cluster cold build (${os.cpus().length} cores, empty Go build cache)`, `${(seconds / 60).toFixed(1)} min`, "cached by version key");
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export async function benchKubernetes(record: Recorder): Promise<void> {
  if (process.getuid?.() !== 0) {
    record("cluster warm start", "not measured: needs root");
    return;
  }
  setup([]);
  const samples: number[] = [];
  for (let restart = 0; restart < RESTARTS; restart++) {
    setup(["--stop"]);
    samples.push(setup([]));
  }
  record(`cluster warm start to Ready and DNS answering (median of ${RESTARTS})`, `${median(samples).toFixed(1)} s`);
  await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
  const sum = (daemons: string[]) => daemons.reduce((total, daemon) => total + residentMiB(daemon), 0);
  record(`idle control plane memory (${CONTROL_PLANE.join(", ")}; RSS)`, formatMiB(sum(CONTROL_PLANE)));
  record(`idle node memory (${NODE.join(", ")}; RSS)`, formatMiB(sum(NODE)));
}
