/**
 * An ephemeral run on a cluster: a Job made from the sandbox's own pod spec (its claims, its hardening, its
 * labels, so its NetworkPolicy and proxies take it as the sandbox), the agent run in its pod by exec once it
 * is Ready, and the Job then finished (kept, up to KEEP_FINISHED of them) or deleted, as on Docker
 * (run-script.ts ephemeralRunScript). The pod idles until the script leaves a file saying the run is over.
 */
import type { AgentProfile, AgentRunRequest } from "../agents";
import { shellQuote } from "../engine/shell";
import type { SandboxExec } from "../sandbox/exec";
import type { RunPodSource } from "../sandbox/run-pod";
import { agentExecLine, REPORT, RUN_LABEL } from "./run-script";

const FINISHED_FILE = "/tmp/agent-sandbox-run-finished";

/** The Job of one execution of the run, its name left as @JOB_NAME@ for the script to fill in. */
export function runJobManifest(source: Pick<RunPodSource, "labels" | "namespace">, podSpec: Record<string, unknown>, runName: string): string {
  const labels = { ...source.labels, [RUN_LABEL]: runName };
  const spec = podSpec as { containers: Record<string, unknown>[] };
  return JSON.stringify({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "@JOB_NAME@", namespace: source.namespace, labels },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          ...spec,
          restartPolicy: "Never",
          containers: spec.containers.map((container) => ({ ...container, command: ["sh", "-c", `until [ -e ${FINISHED_FILE} ]; do sleep 1; done`] })),
        },
      },
    },
  });
}

const selector = (labels: Record<string, string>, runName: string) =>
  Object.entries({ ...labels, [RUN_LABEL]: runName })
    .map(([label, value]) => `${label}=${value}`)
    .join(",");

/** Deletes all but the newest $KEEP_FINISHED Jobs of the run (their pods go with them). */
function pruneJobsLines(source: RunPodSource, runName: string): string {
  const jobs = `${source.kubectl} get jobs -l ${shellQuote(selector(source.labels, runName))} --sort-by=.metadata.creationTimestamp -o name`;
  return `stale=$(${jobs} | head -n -"$KEEP_FINISHED")
if [ -n "$stale" ]; then ${source.kubectl} delete --wait=false $stale >/dev/null; fi`;
}

/**
 * Environment: JOB_PREFIX, JOB_MANIFEST (runJobManifest), HEALTH_TIMEOUT, KEEP_FINISHED. The agent runs in
 * the background with its stdin handed over (fd 3), so a signal reaches the trap at once.
 */
export function ephemeralPodScript(agent: AgentProfile, request: AgentRunRequest, exec: SandboxExec, source: RunPodSource, runName: string): string {
  const kubectl = source.kubectl;
  return `set -u
out=$(mktemp) err=$(mktemp)
JOB="$JOB_PREFIX-$(date -u +%s)-$$"
CONTAINER=""
finish() {
  trap - EXIT INT TERM HUP
  if [ -n "$CONTAINER" ] && [ "$KEEP_FINISHED" -gt 0 ]; then ${kubectl} exec "$CONTAINER" -c sandbox -- touch ${FINISHED_FILE} >/dev/null 2>&1 || true; fi
  ${pruneJobsLines(source, runName).replace(/\n/g, "\n  ")}
  rm -f "$out" "$err"
}
trap finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
printf '%s' "$JOB_MANIFEST" | sed "s/@JOB_NAME@/$JOB/" | ${kubectl} create -f - >/dev/null || exit 1
deadline=$(( $(date +%s) + HEALTH_TIMEOUT ))
until CONTAINER=$(${kubectl} get pods -l job-name="$JOB" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null) && [ -n "$CONTAINER" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the run's pod of job $JOB did not appear in \${HEALTH_TIMEOUT}s" >&2; exit 1; }
  sleep 1
done
${kubectl} wait --for=condition=Ready "pod/$CONTAINER" --timeout="$(( deadline - $(date +%s) > 0 ? deadline - $(date +%s) : 1 ))s" >/dev/null || { echo "the run's pod $CONTAINER was not Ready in \${HEALTH_TIMEOUT}s" >&2; exit 1; }
exec 3<&0
${agentExecLine(agent, request, exec)} <&3 >"$out" 2>"$err" &
wait $!
${REPORT}`;
}

/** Removes every Job of the run: the delete of the run's cleanup, when the run leaves the stack. */
export function removeRunJobsScript(source: RunPodSource, runName: string): string {
  return `set -u
KEEP_FINISHED=0
${pruneJobsLines(source, runName)}`;
}
