// A NIP-46 remote signer ("bunker") made with NDK (nostr-dev-kit), for tests:
// it holds a secret key and signs what minga's node asks for over a relay.
// Usage: node bunker.mjs <relay url> <secret key hex>
import WebSocket from "ws";
globalThis.WebSocket = WebSocket;
const { default: NDK, NDKNip46Backend, NDKPrivateKeySigner } = await import("@nostr-dev-kit/ndk");

const [relay, secret] = process.argv.slice(2);
const ndk = new NDK({ explicitRelayUrls: [relay] });
await ndk.connect(10000);
const signer = new NDKPrivateKeySigner(secret);
const backend = new NDKNip46Backend(ndk, signer, async () => true, [relay]);
await backend.start();
const user = await signer.user();
console.log(`ready ${user.pubkey}`);
setInterval(() => {}, 1 << 30);
