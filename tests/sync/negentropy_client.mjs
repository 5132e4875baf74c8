// The client (initiator) side of negentropy as implemented by nostr-tools
// (nip77), driven line by line over stdin/stdout by test_negentropy.py:
//   in:  {"items": [[created_at, "hex id"], …], "frame": 60000}
//   out: {"query": "<hex>"}                      (the initial message)
//   in:  {"answer": "<hex>"}                     (the server's reply), repeated
//   out: {"query": "<hex>"|null, "have": […], "need": […]}
import { createInterface } from "node:readline";
import { nip77 } from "nostr-tools";

const lines = createInterface({ input: process.stdin });
let engine = null;
for await (const line of lines) {
  const msg = JSON.parse(line);
  if (engine === null) {
    const storage = new nip77.NegentropyStorageVector();
    for (const [ts, id] of msg.items) storage.insert(ts, id);
    storage.seal();
    engine = new nip77.Negentropy(storage, msg.frame);
    console.log(JSON.stringify({ query: engine.initiate() }));
  } else {
    const have = [];
    const need = [];
    const query = engine.reconcile(msg.answer, (id) => have.push(id), (id) => need.push(id));
    console.log(JSON.stringify({ query, have, need }));
  }
}
