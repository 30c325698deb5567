/**
 * Live proof that the cluster scripts/setup-kubernetes.sh starts is a real one (issue #25, part 3): a pod
 * runs and its logs come back through the API server and kubelet; a pod of the RuntimeClass gvisor runs on
 * gVisor's kernel; a Service resolves by name through CoreDNS and answers through kube-proxy's rules; a
 * default-deny NetworkPolicy stops pod-to-pod and pod-to-node traffic that an allow policy then lets
 * through (kube-router enforcing). Workload images come from the loopback registry, as the node pulls them.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, KubernetesGate, kubectl, nodeAddress } from "../../testkit/live/kubernetes";
import { REGISTRY_BASE_IMAGES } from "../../testkit/live/pulumi-cli";

const gate = new KubernetesGate();
const NAMESPACE = `asb-cluster-${process.pid}`;
const SHELL_IMAGE = REGISTRY_BASE_IMAGES.baseImage;
const SERVER_IMAGE = REGISTRY_BASE_IMAGES.builderImage;
const SERVER_PORT = 8080;

function pod(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NAMESPACE, labels: { app: name, ...labels } },
    spec: { terminationGracePeriodSeconds: 0, ...spec },
  };
}

function networkPolicy(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: NAMESPACE }, spec };
}

/** A pod that runs one shell command and ends. */
function job(name: string, command: string, spec: Record<string, unknown> = {}): object {
  return pod(name, { restartPolicy: "Never", containers: [{ name: "main", image: SHELL_IMAGE, command: ["bash", "-c", command] }], ...spec });
}

async function logsWhenDone(name: string): Promise<string> {
  await kubectl(["-n", NAMESPACE, "wait", `pod/${name}`, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s"]);
  return (await kubectl(["-n", NAMESPACE, "logs", name])).stdout;
}

/** Whether a TCP connection from the client pod to host:port opens within 3 s. */
async function connects(host: string, port: number): Promise<boolean> {
  const probe = `timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' && echo open || echo closed`;
  const { stdout } = await kubectl(["-n", NAMESPACE, "exec", "client", "--", "bash", "-c", probe]);
  return stdout.trim() === "open";
}

/** Waits until a policy change shows in what the client reaches (the engine applies policies within seconds). */
async function eventually(check: () => Promise<boolean>, want: boolean): Promise<boolean> {
  for (let attempt = 0; attempt < 15; attempt++) {
    if ((await check()) === want) return want;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return !want;
}

describe("the local Kubernetes cluster", () => {
  let available = false;
  let node = "";
  const hostListeners: net.Server[] = [];
  /** Two services of the node itself, on the node address pods reach it by: the allow policy names only the first. */
  let hostPort = 0;
  let otherHostPort = 0;

  beforeAll(async () => {
    available = gate.ready();
    if (!available) return;
    node = await nodeAddress();
    await kubectl(["create", "namespace", NAMESPACE]);
    await apply(
      pod("server", {
        containers: [
          {
            name: "main",
            image: SERVER_IMAGE,
            command: ["node", "-e", `require("http").createServer((q, s) => s.end("hello from " + process.env.HOSTNAME)).listen(${SERVER_PORT})`],
            readinessProbe: { tcpSocket: { port: SERVER_PORT }, periodSeconds: 1 },
          },
        ],
      }),
      pod("client", { containers: [{ name: "main", image: SHELL_IMAGE, command: ["sleep", "infinity"] }] }),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "echo", namespace: NAMESPACE },
        spec: { selector: { app: "server" }, ports: [{ port: 80, targetPort: SERVER_PORT }] },
      },
    );
    await kubectl(["-n", NAMESPACE, "wait", "pod/server", "pod/client", "--for=condition=Ready", "--timeout=180s"]);
    for (let i = 0; i < 2; i++) {
      // A probe the pod gives up on resets its connection; that reset is expected, not a failure.
      const listener = net.createServer((socket) => {
        socket.on("error", () => {});
        socket.end("node\n");
      });
      await new Promise<void>((resolve) => listener.listen(0, node, resolve));
      hostListeners.push(listener);
    }
    [hostPort, otherHostPort] = hostListeners.map((listener) => (listener.address() as net.AddressInfo).port);
  }, 300_000);

  afterAll(async () => {
    for (const listener of hostListeners) listener.close();
    if (available) await kubectl(["delete", "namespace", NAMESPACE, "--wait=false"], { allowFailure: true });
  });

  it("runs a pod whose logs come back through the API server", async (context) => {
    gate.requireCluster(context);
    const marker = `logs-${process.pid}`;
    await apply(job("logs", `echo ${marker}; uname -r`));
    const logs = await logsWhenDone("logs");
    expect(logs).toContain(marker);
    // runc: the pod shares the host's kernel.
    expect(logs).toContain(os.release());
  }, 240_000);

  it("runs a pod of the RuntimeClass gvisor on gVisor's kernel", async (context) => {
    gate.requireCluster(context);
    await apply(job("gvisor", "cat /proc/version; dmesg", { runtimeClassName: "gvisor" }));
    const logs = await logsWhenDone("gvisor");
    expect(logs).toMatch(/gVisor/);
    expect(logs).not.toContain(os.release());
    const handler = (await kubectl(["-n", NAMESPACE, "get", "pod", "gvisor", "-o", "jsonpath={.spec.runtimeClassName}"])).stdout;
    expect(handler).toBe("gvisor");
  }, 240_000);

  it("resolves a Service by name through CoreDNS and reaches its pod through it", async (context) => {
    gate.requireCluster(context);
    const name = `echo.${NAMESPACE}.svc.cluster.local`;
    const clusterIp = (await kubectl(["-n", NAMESPACE, "get", "service", "echo", "-o", "jsonpath={.spec.clusterIP}"])).stdout.trim();
    const resolved = (await kubectl(["-n", NAMESPACE, "exec", "client", "--", "getent", "hosts", name])).stdout;
    expect(resolved.split(/\s+/)[0]).toBe(clusterIp);
    const request = `exec 3<>/dev/tcp/echo/80; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`;
    const response = (await kubectl(["-n", NAMESPACE, "exec", "client", "--", "bash", "-c", request])).stdout;
    expect(response).toContain("hello from server");
    // Nothing but the cluster's own names: CoreDNS forwards nothing off this machine.
    const outside = await kubectl(["-n", NAMESPACE, "exec", "client", "--", "getent", "hosts", "example.com"], { allowFailure: true });
    expect(outside.code).not.toBe(0);
  }, 120_000);

  it("gives a claim a volume a non-root pod writes, a later pod reads back, and removes it with the claim", async (context) => {
    gate.requireCluster(context);
    const marker = `volume-${process.pid}`;
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: NAMESPACE },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "16Mi" } } },
    };
    const asAgent = (command: string) => ({
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000 },
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
      containers: [{ name: "main", image: SHELL_IMAGE, command: ["bash", "-c", command], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
    });
    // job()'s spec comes last, so these containers replace its own.
    await apply(claim, job("writer", "", asAgent(`echo ${marker} > /data/file && id -u`)));
    expect((await logsWhenDone("writer")).trim()).toBe("1000");
    await apply(job("reader", "", asAgent("cat /data/file")));
    expect((await logsWhenDone("reader")).trim()).toBe(marker);

    // The claim's folder on the node goes with the claim (the provisioner's teardown helper).
    const volume = (await kubectl(["-n", NAMESPACE, "get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"])).stdout.trim();
    const spec = JSON.parse((await kubectl(["get", "pv", volume, "-o", "jsonpath={.spec}"])).stdout) as {
      hostPath?: { path: string };
      local?: { path: string };
    };
    const folder = spec.hostPath?.path ?? spec.local?.path ?? "";
    expect(fs.existsSync(folder)).toBe(true);
    await kubectl(["-n", NAMESPACE, "delete", "pod", "writer", "reader", "--now"]);
    await kubectl(["-n", NAMESPACE, "delete", "pvc", "data", "--wait"]);
    expect(await eventually(async () => fs.existsSync(folder), false)).toBe(false);
  }, 240_000);

  it("enforces NetworkPolicy: default deny stops pod-to-pod and pod-to-node traffic, an allow policy lets it through", async (context) => {
    gate.requireCluster(context);
    const serverIp = (await kubectl(["-n", NAMESPACE, "get", "pod", "server", "-o", "jsonpath={.status.podIP}"])).stdout.trim();
    expect(await connects(serverIp, SERVER_PORT)).toBe(true);
    expect(await connects(node, hostPort)).toBe(true);
    expect(await connects(node, otherHostPort)).toBe(true);

    await apply(networkPolicy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }));
    expect(await eventually(() => connects(serverIp, SERVER_PORT), false)).toBe(false);
    expect(await eventually(() => connects(node, hostPort), false)).toBe(false);

    await apply(
      networkPolicy("client-egress", {
        podSelector: { matchLabels: { app: "client" } },
        policyTypes: ["Egress"],
        egress: [
          { to: [{ podSelector: { matchLabels: { app: "server" } } }], ports: [{ port: SERVER_PORT }] },
          { to: [{ ipBlock: { cidr: `${node}/32` } }], ports: [{ port: hostPort }] },
        ],
      }),
      networkPolicy("server-ingress", {
        podSelector: { matchLabels: { app: "server" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: SERVER_PORT }] }],
      }),
    );
    expect(await eventually(() => connects(serverIp, SERVER_PORT), true)).toBe(true);
    expect(await eventually(() => connects(node, hostPort), true)).toBe(true);
    // Only what the policies name: the node's other service stays shut.
    expect(await connects(node, otherHostPort)).toBe(false);
  }, 180_000);
});
