/* minga reporter app: the offline outbox.
 *
 * Everything filed is written to IndexedDB first (text and files), then sent
 * when the network allows: files over tus (resumable, 1 MB chunks), then the
 * item itself. A closed tab, a dead battery or a day without signal lose
 * nothing: the queue is read again at the next start. Sent items leave the
 * phone. The quick exit erases everything of minga in this browser.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("minga-config").textContent);
  var S = config.strings;
  var DB = "minga-outbox";
  var STORE = "items";
  var CHUNK = 1024 * 1024;
  var shown = []; // items sent in this session, shown briefly

  // ---- IndexedDB ---------------------------------------------------------

  var exiting = false; // the quick exit is wiping: open nothing any more

  function openDb() {
    if (exiting) return Promise.reject(new Error("exiting"));
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        var request = work(tx.objectStore(STORE));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function save(item) { return withStore("readwrite", function (s) { return s.put(item); }); }
  function remove(id) { return withStore("readwrite", function (s) { return s.delete(id); }); }
  function all() {
    return withStore("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created - b.created; });
    });
  }

  // ---- helpers -------------------------------------------------------------

  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : config.csrf;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function Transient(message) { this.message = message; }

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).catch(function () { throw new Transient(S.offline); });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // ---- sending ---------------------------------------------------------------

  function upload(item, file) {
    return new Promise(function (resolve, reject) {
      var up = new tus.Upload(file.blob, {
        endpoint: "/tus/",
        uploadUrl: file.uploadUrl || null,
        chunkSize: CHUNK,
        retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
        storeFingerprintForResuming: false,
        metadata: {
          filename: file.name,
          filetype: file.type,
          blur: file.blur ? "1" : "0",
          alt: file.alt || ""
        },
        headers: { "X-CSRFToken": csrf() },
        onUploadUrlAvailable: function () {
          file.uploadUrl = up.url;
          file.mediaId = up.url.split("/").pop();
          save(item);
        },
        onProgress: function (sent, total) {
          file.progress = total ? sent / total : 0;
          render();
        },
        onSuccess: function () {
          file.state = "uploaded";
          file.progress = 1;
          save(item).then(resolve, reject);
        },
        onError: function (error) {
          var status = error && error.originalResponse ? error.originalResponse.getStatus() : 0;
          if (status === 404 || status === 410) { file.uploadUrl = null; file.mediaId = null; }
          if (status >= 400 && status < 500 && status !== 404 && status !== 409 && status !== 410 && status !== 423 && status !== 429) {
            reject(new Error((error.originalResponse && error.originalResponse.getHeader("X-Reason")) || String(error)));
          } else {
            reject(new Transient(String(error)));
          }
        }
      });
      up.start();
    });
  }

  function waitReady(item, file) {
    return fetch("/r/media/" + file.mediaId, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .catch(function () { throw new Transient(S.offline); })
      .then(function (response) {
        if (response.status === 401) throw new Error(S.failed);
        return response.json();
      })
      .then(function (answer) {
        if (answer.status === "ready") { file.state = "ready"; file.result = answer.result; return save(item); }
        if (answer.status === "failed") throw new Error(file.name + ": " + answer.error);
        file.progress = answer.progress || 0;
        render();
        return sleep(1500).then(function () { return waitReady(item, file); });
      });
  }

  function signWithExtension(template) {
    if (!window.nostr || !window.nostr.signEvent) return Promise.reject(new Error(S.noExtension));
    return window.nostr.signEvent(template);
  }

  function nip07Event(item) {
    var f = item.fields;
    var tags = [];
    var content = f.body;
    var kind = item.kind === "dispatch" ? 30023 : 1;
    if (kind === 30023) {
      tags.push(["d", item.id], ["title", f.title], ["summary", f.body.replace(/\s+/g, " ").slice(0, 280)]);
    } else {
      tags.push(["client", "minga"]);
    }
    if (f.language) tags.push(["L", "ISO-639-1"], ["l", f.language, "ISO-639-1"]);
    if (f.place) tags.push(["location", f.place]);
    f.hashtags.forEach(function (t) { tags.push(["t", t]); });
    item.files.forEach(function (file) {
      tags.push(file.result.imeta);
      if (kind === 1) content += "\n" + file.result.main.url;
    });
    return signWithExtension({ kind: kind, created_at: item.filedAt, tags: tags, content: content.trim() });
  }

  function send(item) {
    var chain = Promise.resolve();
    item.files.forEach(function (file) {
      chain = chain.then(function () {
        if (file.state === "ready") return null;
        var step = Promise.resolve();
        if (file.state !== "uploaded") {
          step = step.then(function () { item.state = "uploading"; render(); return upload(item, file); });
        }
        return step.then(function () { item.state = "processing"; render(); return waitReady(item, file); });
      });
      if (config.custody === "nip07") {
        chain = chain.then(function () {
          if (file.recordSent || !file.result.template) return null;
          var t = file.result.template;
          return signWithExtension({ kind: t.kind, created_at: item.filedAt, tags: t.tags, content: t.content })
            .then(function (signed) { return post("/r/signed", signed); })
            .then(function (r) { if (!r.ok) throw new Error(S.failed); file.recordSent = true; return save(item); });
        });
      }
    });
    return chain.then(function () {
      item.state = "sending";
      render();
      if (config.custody === "nip07") {
        return nip07Event(item).then(function (event) { return post("/r/file", { event: event }); });
      }
      var f = item.fields;
      return post("/r/file", {
        client_id: item.id, kind: item.kind, title: f.title, body: f.body, language: f.language,
        place: f.place, hashtags: f.hashtags, filed_at: item.filedAt,
        media: item.files.map(function (file) { return file.mediaId; })
      });
    }).then(function (response) {
      if (response.ok) {
        item.state = "sent";
        shown.push({ id: item.id, title: item.fields.title || item.fields.body.slice(0, 60), kind: item.kind });
        return remove(item.id).then(refreshMine);
      }
      if (response.status >= 500 || response.status === 429) throw new Transient(S.failed);
      return response.json().catch(function () { return {}; }).then(function (answer) {
        throw new Error(answer.error || S.failed);
      });
    });
  }

  var syncing = false;
  var again = false; // asked to send while a round was running: run once more
  function sync() {
    if (syncing) { again = true; return Promise.resolve(); }
    syncing = true;
    again = false;
    return all().then(function (items) {
      var chain = Promise.resolve();
      items.forEach(function (item) {
        if (item.state === "failed") return;
        chain = chain.then(function () {
          return send(item).catch(function (error) {
            if (error instanceof Transient) {
              item.state = "queued";
              return save(item).then(function () { throw error; });
            }
            item.state = "failed";
            item.error = error.message || String(error);
            return save(item);
          });
        });
      });
      return chain;
    }).catch(function () { /* offline: the next attempt picks it up */ })
      .then(function () {
        syncing = false;
        render();
        if (again) sync();
      });
  }

  // ---- the page --------------------------------------------------------------

  var list = document.getElementById("outbox");
  var net = document.getElementById("net");
  var form = document.getElementById("compose");

  function label(state) { return S[state] || state; }

  function render() {
    net.textContent = navigator.onLine ? S.online : S.offline;
    net.className = "status-bar" + (navigator.onLine ? "" : " offline");
    all().then(function (items) {
      list.textContent = "";
      items.concat(shown.map(function (s) { return { id: s.id, state: "sent", kind: s.kind, fields: { title: s.title, body: "" }, files: [] }; }))
        .forEach(function (item) {
          var li = document.createElement("li");
          li.dataset.id = item.id;
          li.dataset.state = item.state;
          var title = document.createElement("p");
          var kind = document.createElement("span");
          kind.className = "label";
          kind.textContent = S[item.kind] + " ";
          title.appendChild(kind);
          title.appendChild(document.createTextNode(item.fields.title || item.fields.body.slice(0, 80)));
          li.appendChild(title);
          var state = document.createElement("p");
          state.className = "state";
          state.textContent = label(item.state) + (item.files.length ? " · " + item.files.length + " " + S.files : "");
          li.appendChild(state);
          item.files.forEach(function (file) {
            if (item.state === "uploading" || item.state === "processing") {
              var bar = document.createElement("progress");
              bar.max = 1;
              bar.value = file.progress || 0;
              bar.setAttribute("aria-label", file.name);
              li.appendChild(bar);
            }
          });
          if (item.error) {
            var error = document.createElement("p");
            error.className = "error-text";
            error.textContent = item.error;
            li.appendChild(error);
          }
          if (item.state === "failed") {
            var retry = document.createElement("button");
            retry.type = "button";
            retry.className = "secondary";
            retry.textContent = S.retry;
            retry.addEventListener("click", function () {
              item.state = "queued"; item.error = "";
              save(item).then(sync);
            });
            var drop = document.createElement("button");
            drop.type = "button";
            drop.className = "secondary";
            drop.textContent = S.remove;
            drop.addEventListener("click", function () { remove(item.id).then(render); });
            li.appendChild(retry);
            li.appendChild(document.createTextNode(" "));
            li.appendChild(drop);
          }
          list.appendChild(li);
        });
    });
  }

  // form.title and form.blur are the form's own properties: read inputs by name.
  function field(name) { return form.elements.namedItem(name); }

  function kindNow() { return form.querySelector("input[name=kind]:checked").value; }

  function showFields() {
    var dispatch = kindNow() === "dispatch";
    form.querySelectorAll("[data-for=dispatch]").forEach(function (el) { el.hidden = !dispatch; });
  }

  form.querySelectorAll("input[name=kind]").forEach(function (radio) { radio.addEventListener("change", showFields); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var kind = kindNow();
    var fields = {
      title: field("title").value.trim(),
      body: field("body").value.trim(),
      language: field("language").value,
      place: field("place").value.trim(),
      hashtags: field("hashtags").value.split(/[\s,]+/).map(function (t) { return t.replace(/^#/, "").trim(); }).filter(Boolean)
    };
    var picked = Array.prototype.slice.call(field("files").files);
    if (kind === "dispatch" && (!fields.title || !fields.body)) { alert(S.needTitle); return; }
    if (kind === "note" && !fields.body && !picked.length) { alert(S.needText); return; }
    var item = {
      id: uuid(), kind: kind, fields: fields, filedAt: Math.floor(Date.now() / 1000),
      created: Date.now(), state: "queued", error: "",
      files: picked.map(function (file) {
        return { name: file.name, type: file.type, size: file.size, blob: file, blur: field("blur").checked, alt: field("alt").value.trim(), state: "new", progress: 0 };
      })
    };
    // Saved before anything else: from here on the item survives a closed tab.
    save(item).then(function () {
      form.reset();
      showFields();
      document.getElementById("preview").textContent = "";
      net.textContent = S.saved;
      render();
      sync();
    });
  });

  document.getElementById("preview-button").addEventListener("click", function () {
    var target = document.getElementById("preview");
    post("/r/preview", { body: field("body").value }).then(function (r) { return r.json(); })
      .then(function (answer) { target.innerHTML = answer.html || ""; })
      .catch(function () { target.textContent = S.offline; });
  });

  function refreshMine() {
    var box = document.getElementById("my-items");
    return fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () { /* offline */ });
  }

  document.getElementById("quick-exit").addEventListener("click", function () {
    // No question asked: in danger there is no time for one.
    exiting = true;
    try {
      fetch("/logout/", { method: "POST", credentials: "same-origin", keepalive: true, headers: { "X-CSRFToken": csrf() } });
    } catch (e) { /* leave anyway */ }
    // The deletion waits for any transaction still open; it is not done when "blocked".
    var wipe = [new Promise(function (r) { var d = indexedDB.deleteDatabase(DB); d.onsuccess = d.onerror = r; })];
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* private mode */ }
    if (window.caches) wipe.push(caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) { return caches.delete(k); })); }));
    if (navigator.serviceWorker) wipe.push(navigator.serviceWorker.getRegistrations().then(function (rs) { return Promise.all(rs.map(function (r) { return r.unregister(); })); }));
    Promise.race([Promise.all(wipe), sleep(3000)]).then(function () { location.replace("/r/exit"); });
  });

  window.addEventListener("online", function () { render(); sync(); refreshMine(); });
  window.addEventListener("offline", render);
  setInterval(function () { if (navigator.onLine) sync(); }, 15000);
  setInterval(function () { if (navigator.onLine) refreshMine(); }, 30000);
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/r/sw.js", { scope: "/r/" }).catch(function () {});

  // Items stuck half-way by a closed tab go back to the queue.
  all().then(function (items) {
    return Promise.all(items.filter(function (i) { return i.state !== "failed" && i.state !== "queued"; })
      .map(function (i) { i.state = "queued"; return save(i); }));
  }).then(function () { showFields(); render(); sync(); refreshMine(); });
})();
