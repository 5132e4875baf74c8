// An nsite reader made of other people's code: NDK (nostr-dev-kit) finds the
// outlet's NIP-5A site manifest on a relay, blossom-client-sdk fetches every
// file it lists from the Blossom servers its `server` tags name, and each
// file is checked against its sha256, as an nsite gateway does.
// Usage: node nsite_client.mjs <relay url> <outlet pubkey hex> <output folder>
// Prints one JSON line: the manifest id, and per path its size and Content-Type.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import WebSocket from "ws";
globalThis.WebSocket = WebSocket;
const { default: NDK } = await import("@nostr-dev-kit/ndk");
const { Actions } = await import("blossom-client-sdk");

const [relay, pubkey, out] = process.argv.slice(2);
const ndk = new NDK({ explicitRelayUrls: [relay] });
await ndk.connect(10000);
const manifest = await ndk.fetchEvent({ kinds: [15128], authors: [pubkey] });
if (!manifest) throw new Error("no site manifest on the relay");
if (!manifest.verifySignature(false)) throw new Error("the manifest signature does not verify");
const servers = manifest.tags.filter((t) => t[0] === "server").map((t) => t[1]);
if (servers.length === 0) throw new Error("the manifest names no Blossom server");

const files = {};
for (const [name, path, sha256] of manifest.tags) {
  if (name !== "path") continue;
  let answer = null;
  for (const server of servers) {
    if (!(await Actions.hasBlob(server, sha256))) continue;
    answer = await Actions.downloadBlob(server, sha256);
    break;
  }
  if (!answer) throw new Error(`no server has ${path}`);
  const bytes = Buffer.from(await answer.arrayBuffer());
  if (createHash("sha256").update(bytes).digest("hex") !== sha256) {
    throw new Error(`${path} does not match its hash`);
  }
  const target = join(out, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, bytes);
  files[path] = { size: bytes.length, type: answer.headers.get("content-type") };
}
console.log(JSON.stringify({ id: manifest.id, files }));
process.exit(0);
