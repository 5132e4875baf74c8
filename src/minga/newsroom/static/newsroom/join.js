/* Joining with one's own key: the browser extension (NIP-07) signs a statement
 * bound to this invitation, which the node checks before creating the account. */
(function () {
  "use strict";
  var form = document.getElementById("join");
  form.addEventListener("submit", function (event) {
    var choice = form.querySelector("input[name=key]:checked");
    if (!choice || choice.value !== "nip07") return;
    event.preventDefault();
    if (!window.nostr || !window.nostr.signEvent) {
      alert("NIP-07?");
      return;
    }
    window.nostr.signEvent({
      kind: Number(form.dataset.kind),
      created_at: Math.floor(Date.now() / 1000),
      tags: [],
      content: form.dataset.challenge
    }).then(function (signed) {
      document.getElementById("id_proof").value = JSON.stringify(signed);
      form.submit();
    });
  });
})();
