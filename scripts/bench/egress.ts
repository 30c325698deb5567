/**
 * Latency the egress proxy adds to one request: the same small GET to a project container, sent directly and
 * through the proxy, interleaved in one run so both see the same machine load. Each request opens a new
 * connection, as a CLI tool's single request does. Loopback and project containers only.
 *
 *   npx tsx scripts/bench/egress.ts [requests]
 */
import { type RequestOptions, request } from "node:http";
import { PROXY_PORT } from "../../components/egress/network";
import { ALLOWED_NAME, buildLabImages, removeLabObjects, startLab } from "../../testkit/live/egress-lab";

export interface EgressLatencyOptions {
  /** Measured requests per path (direct and proxied), after a warm-up; 1 to 5000, default 300. */
  readonly requests?: number;
}

export interface EgressLatency {
  readonly directMedianMs: number;
  readonly directP99Ms: number;
  readonly proxyMedianMs: number;
  readonly proxyP99Ms: number;
  readonly requests: number;
}

const WARM_UP = 20;

function timedGet(options: RequestOptions): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((done, fail) => {
    const sent = request({ ...options, agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.on("end", () => {
        if (response.statusCode !== 200) fail(new Error(`GET ${options.path} via ${options.host}:${options.port} answered ${response.statusCode}`));
        else done(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    sent.on("timeout", () => sent.destroy(new Error(`GET ${options.path} via ${options.host}:${options.port} timed out`)));
    sent.on("error", fail);
    sent.end();
  });
}

/** Nearest-rank percentile of already sorted samples. */
function percentile(sorted: readonly number[], fraction: number): number {
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1];
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export async function measureEgressLatency(opts: EgressLatencyOptions = {}): Promise<EgressLatency> {
  const requests = opts.requests ?? 300;
  if (!Number.isInteger(requests) || requests < 1 || requests > 5000) throw new Error(`requests must be an integer from 1 to 5000, got ${requests}`);
  await removeLabObjects();
  await buildLabImages();
  try {
    const lab = await startLab(`egress-bench-${process.pid}`, { withSandbox: false, egress: { includeDefaults: false, allow: [ALLOWED_NAME] } });
    const direct: RequestOptions = { host: lab.allowedIp, port: 80, path: "/" };
    const proxied: RequestOptions = { host: lab.proxyOutsideIp, port: PROXY_PORT, path: `http://${ALLOWED_NAME}/`, headers: { Host: ALLOWED_NAME } };
    const samples = { direct: [] as number[], proxy: [] as number[] };
    for (let i = 0; i < WARM_UP + requests; i++) {
      const directMs = await timedGet(direct);
      const proxyMs = await timedGet(proxied);
      if (i < WARM_UP) continue;
      samples.direct.push(directMs);
      samples.proxy.push(proxyMs);
    }
    const directSorted = samples.direct.sort((a, b) => a - b);
    const proxySorted = samples.proxy.sort((a, b) => a - b);
    return {
      directMedianMs: round(percentile(directSorted, 0.5)),
      directP99Ms: round(percentile(directSorted, 0.99)),
      proxyMedianMs: round(percentile(proxySorted, 0.5)),
      proxyP99Ms: round(percentile(proxySorted, 0.99)),
      requests,
    };
  } finally {
    await removeLabObjects();
  }
}

if (require.main === module) {
  measureEgressLatency({ requests: process.argv[2] ? Number(process.argv[2]) : undefined }).then(
    (result) => console.log(JSON.stringify({ ...result, addedMedianMs: round(result.proxyMedianMs - result.directMedianMs) })),
    (error: Error) => {
      console.error(`bench egress: ${error.message}`);
      process.exit(1);
    },
  );
}
