/**
 * A test certificate authority and a server certificate for host.docker.internal, for the stand-in servers
 * the credential proxy reaches over TLS (the Messages API, the git server). Made with the openssl CLI once
 * and kept under /var/cache/agent-sandbox/test-ca/, so the CA bundle a live stack builds its image with has
 * the same content on every run (the build provider hashes it); remade when a file is missing, unreadable,
 * does not verify, or expires within 30 days.
 *
 * The bundle is the machine's bundle plus the test CA: builds still need the machine's CAs, because outbound
 * HTTPS from builds passes a TLS-intercepting proxy here.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST_GATEWAY_NAME } from "../../components/engine/host-gateway";

/** The machine's CA bundle (live-program.ts exports it too). */
export const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
export const TEST_CA_DIR = "/var/cache/agent-sandbox/test-ca";
/** The machine's bundle plus the test CA: `image.extraCaCertsFile` of live stacks. */
export const TEST_CA_BUNDLE = path.join(TEST_CA_DIR, "bundle.crt");
/** Where the Kubernetes suites name their stand-ins: headless Services of this namespace (testkit/live/kubernetes.ts). */
export const CLUSTER_UPSTREAM_DOMAIN = "agent-sandbox-upstreams.svc.cluster.local";
/** The server certificate's names: the Docker host as containers see it, the host's own loopback, and the cluster's stand-ins. */
export const SERVER_NAMES = { dns: [HOST_GATEWAY_NAME, "localhost", `*.${CLUSTER_UPSTREAM_DOMAIN}`], ip: ["127.0.0.1"] } as const;

const FILES = { caKey: "ca.key", caCert: "ca.crt", serverKey: "server.key", serverCert: "server.crt" } as const;
/** Remake what expires within this many seconds (30 days). */
const MIN_REMAINING_SECONDS = 30 * 24 * 3600;

export interface TestCa {
  /** PEM of the CA certificate, to trust (GIT_SSL_CAINFO, Node's `ca`, curl --cacert) as a file: caCertFile. */
  readonly caCert: string;
  readonly caCertFile: string;
  /** The server's key and certificate (PEM), for `https.createServer({ key, cert })`. */
  readonly tls: { readonly key: string; readonly cert: string };
  /** The machine's bundle plus the test CA. */
  readonly bundleFile: string;
}

let cached: TestCa | undefined;

/** The test CA and server certificate, made when missing or stale, and the combined bundle, rewritten when its content differs. */
export function testCa(): TestCa {
  if (cached) return cached;
  if (!usable(TEST_CA_DIR)) generate();
  const read = (file: string) => fs.readFileSync(path.join(TEST_CA_DIR, file), "utf8");
  const caCert = read(FILES.caCert);
  const hostBundle = fs.readFileSync(HOST_CA_BUNDLE, "utf8");
  const bundle = `${hostBundle}${hostBundle.endsWith("\n") ? "" : "\n"}${caCert}`;
  if (!fs.existsSync(TEST_CA_BUNDLE) || fs.readFileSync(TEST_CA_BUNDLE, "utf8") !== bundle) writeAtomically(TEST_CA_BUNDLE, bundle, 0o644);
  cached = {
    caCert,
    caCertFile: path.join(TEST_CA_DIR, FILES.caCert),
    tls: { key: read(FILES.serverKey), cert: read(FILES.serverCert) },
    bundleFile: TEST_CA_BUNDLE,
  };
  return cached;
}

/** The server's TLS key pair, for a stand-in's `tls` option. */
export const testTls = (): TestCa["tls"] => testCa().tls;

/** Whether every file is there, readable, valid for 30 more days, and the server certificate verifies against the CA. */
function usable(dir: string): boolean {
  const file = (name: string) => path.join(dir, name);
  try {
    for (const name of Object.values(FILES)) fs.accessSync(file(name), fs.constants.R_OK);
  } catch {
    return false;
  }
  const ok = (args: string[]) => spawnSync("openssl", args, { stdio: "ignore" }).status === 0;
  return (
    ok(["x509", "-noout", "-checkend", String(MIN_REMAINING_SECONDS), "-in", file(FILES.caCert)]) &&
    ok(["x509", "-noout", "-checkend", String(MIN_REMAINING_SECONDS), "-in", file(FILES.serverCert)]) &&
    ok(["verify", "-CAfile", file(FILES.caCert), "-purpose", "sslserver", file(FILES.serverCert)]) &&
    // A set made before a name joined SERVER_NAMES is remade.
    SERVER_NAMES.dns.every((name) => ok(["verify", "-CAfile", file(FILES.caCert), "-verify_hostname", name.replace("*", "any"), file(FILES.serverCert)])) &&
    ok(["pkey", "-noout", "-in", file(FILES.serverKey)]) &&
    sameKey(file(FILES.serverKey), file(FILES.serverCert))
  );
}

/** Whether a key belongs to a certificate: their public keys are the same. */
function sameKey(keyFile: string, certFile: string): boolean {
  const fromKey = spawnSync("openssl", ["pkey", "-pubout", "-in", keyFile], { encoding: "utf8" });
  const fromCert = spawnSync("openssl", ["x509", "-noout", "-pubkey", "-in", certFile], { encoding: "utf8" });
  return fromKey.status === 0 && fromCert.status === 0 && fromKey.stdout === fromCert.stdout;
}

/**
 * Makes a new CA and server certificate in a scratch folder beside the kept one, then moves it in place:
 * a reader never sees half a set. Whoever renames first wins; a loser keeps the winner's set if it is usable.
 */
function generate(): void {
  const parent = path.dirname(TEST_CA_DIR);
  fs.mkdirSync(parent, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(parent, "test-ca.new-"));
  try {
    const file = (name: string) => path.join(scratch, name);
    const config = file("openssl.cnf");
    fs.writeFileSync(
      config,
      [
        "[req]",
        "distinguished_name = dn",
        "prompt = no",
        "[dn]",
        "CN = agent-sandbox test CA",
        "[ca]",
        "basicConstraints = critical, CA:TRUE, pathlen:0",
        "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash",
        "[server]",
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature, keyEncipherment",
        "extendedKeyUsage = serverAuth",
        `subjectAltName = ${[...SERVER_NAMES.dns.map((name) => `DNS:${name}`), ...SERVER_NAMES.ip.map((ip) => `IP:${ip}`)].join(", ")}`,
        "authorityKeyIdentifier = keyid",
        "subjectKeyIdentifier = hash",
        "",
      ].join("\n"),
    );
    const serial = () => `0x${randomBytes(16).toString("hex")}`;
    openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file(FILES.caKey)]);
    openssl([
      "req",
      "-config",
      config,
      "-new",
      "-x509",
      "-sha256",
      "-days",
      "3650",
      "-set_serial",
      serial(),
      "-extensions",
      "ca",
      "-key",
      file(FILES.caKey),
      "-out",
      file(FILES.caCert),
    ]);
    openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file(FILES.serverKey)]);
    openssl(["req", "-config", config, "-new", "-key", file(FILES.serverKey), "-subj", `/CN=${HOST_GATEWAY_NAME}`, "-out", file("server.csr")]);
    openssl([
      "x509",
      "-req",
      "-sha256",
      "-days",
      "825",
      "-set_serial",
      serial(),
      "-in",
      file("server.csr"),
      "-CA",
      file(FILES.caCert),
      "-CAkey",
      file(FILES.caKey),
      "-extfile",
      config,
      "-extensions",
      "server",
      "-out",
      file(FILES.serverCert),
    ]);
    for (const name of ["server.csr", "openssl.cnf"]) fs.rmSync(file(name));
    for (const name of [FILES.caKey, FILES.serverKey]) fs.chmodSync(file(name), 0o600);
    for (const name of [FILES.caCert, FILES.serverCert]) fs.chmodSync(file(name), 0o644);
    fs.chmodSync(scratch, 0o755);
    if (!usable(scratch)) throw new Error(`the test CA made in ${scratch} does not verify`);
    // The bundle is written by testCa() from the kept set; a stale one goes with the old set.
    fs.rmSync(TEST_CA_DIR, { recursive: true, force: true });
    try {
      fs.renameSync(scratch, TEST_CA_DIR);
    } catch (error) {
      if (!usable(TEST_CA_DIR)) throw error;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  const made = spawnSync("openssl", args, { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`openssl ${args.join(" ")} failed (${made.error?.message ?? `exit ${made.status}`}):\n${made.stderr}`);
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content, { mode });
  fs.renameSync(temporary, file);
}
