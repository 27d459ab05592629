// Delegate by signature with a browser wallet (EIP-1193), loaded by the governance page after
// app.js.
//
// #delegate-by-signature posts the wallet's account and the delegatee (the input its
// data-delegatee names; empty: the account itself) to /api/delegation/typed-data, has the
// wallet sign the token's EIP-712 Delegation with eth_signTypedData_v4, and posts the
// message's values with the signature to /api/delegation, which the server relays and pays
// the gas of. #delegation-done then shows the delegate the chain has now and the transaction.
// A refusal in the wallet sends nothing; it, and every other failure, is said in
// #wallet-status.
"use strict";

(() => {
  const ethereum = window.ethereum;
  const wallet = window.tesseraWallet;
  const base = document.body.dataset.base || "";

  // built from text nodes and a link: nothing the server answers is read as markup
  function showDone(relayed) {
    const done = document.getElementById("delegation-done");
    if (!done) return;
    const link = document.createElement("a");
    link.href = `${base}/tx/${encodeURIComponent(relayed.transaction)}`;
    link.textContent = "the relayed transaction";
    done.replaceChildren(
      `Your votes now go to ${relayed.delegate}, who has ${relayed.votes_tsr} TSR of votes ` +
        `delegated to it; the gas was paid by ${relayed.relayer}: see `,
      link,
      ".",
    );
    done.hidden = false;
  }

  async function delegate(button) {
    button.disabled = true;
    try {
      const delegator = await wallet.account();
      const input = document.getElementById(button.dataset.delegatee);
      const delegatee = (input && input.value.trim()) || delegator;
      wallet.say("Preparing the delegation…");
      const typed = await wallet.postJSON("/api/delegation/typed-data", { delegator, delegatee });
      wallet.say("Sign the delegation in your wallet…");
      const signature = await wallet.signTyped(delegator, typed);
      wallet.say("Signed: relaying the delegation…");
      const { nonce, expiry } = typed.message;
      const relayed = await wallet.postJSON("/api/delegation", {
        delegator,
        delegatee: typed.message.delegatee,
        nonce,
        expiry,
        signature,
      });
      wallet.say(`Delegated by signature: your votes go to ${relayed.delegate}.`);
      showDone(relayed);
    } catch (error) {
      wallet.say(wallet.explain(error), true);
    } finally {
      button.disabled = false;
    }
  }

  const button = document.getElementById("delegate-by-signature");
  if (!ethereum || !wallet || !button) return;
  for (const hidden of document.querySelectorAll("[data-wallet-delegate][hidden]")) {
    hidden.hidden = false;
  }
  button.addEventListener("click", (event) => {
    event.preventDefault();
    delegate(button);
  });
})();
