/** Starting a stand-in server of the live tests on a host address, and the URL host a client uses for it. */
import type { AddressInfo, Server } from "node:net";

/** Listens on `host` (0.0.0.0: every address, reported as 127.0.0.1) and `port` (0: a free one). */
export async function listenOn(server: Server, host: string, port = 0): Promise<{ port: number; urlHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const urlHost = host === "0.0.0.0" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return { port: (server.address() as AddressInfo).port, urlHost };
}
