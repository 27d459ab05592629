// Ask with a browser wallet (EIP-1193), loaded by the ask page after app.js.
//
// #ask-wallet posts the question to /api/ask/typed-data, has the wallet sign each typed data
// it gets back (the request's authorization, then the voucher) with eth_signTypedData_v4,
// posts the signatures to /api/ask and opens the answer's page. A refusal in the wallet
// sends nothing; it, and every other failure, is said in #wallet-status.
"use strict";

(() => {
  const ethereum = window.ethereum;
  const wallet = window.tesseraWallet;
  const WHAT = ["the request", "the voucher"];

  async function sign(account, typedData) {
    const signatures = [];
    for (const [index, typed] of typedData.entries()) {
      wallet.say(`Sign ${WHAT[index]} (${index + 1} of ${typedData.length}) in your wallet…`);
      signatures.push(await wallet.signTyped(account, typed));
    }
    return signatures;
  }

  async function ask(button) {
    const form = button.form;
    if (!form.reportValidity()) return;
    button.disabled = true;
    try {
      const account = await wallet.account();
      const fields = new FormData(form);
      wallet.say("Preparing the question…");
      const prepared = await wallet.postJSON("/api/ask/typed-data", {
        question: fields.get("question") || "",
        model: fields.get("model") || "",
        account,
      });
      const signatures = await sign(account, prepared.typed_data);
      wallet.say("Signed: the node is answering…");
      const answered = await wallet.postJSON("/api/ask", { ask: prepared.ask, signatures });
      window.location.assign(answered.location);
    } catch (error) {
      wallet.say(wallet.explain(error), true);
      button.disabled = false;
    }
  }

  const button = document.getElementById("ask-wallet");
  if (!ethereum || !wallet || !button) return;
  for (const hidden of document.querySelectorAll("[data-wallet-ask][hidden]")) {
    hidden.hidden = false;
  }
  button.addEventListener("click", (event) => {
    event.preventDefault();
    ask(button);
  });
})();
