// Tessera's only script: the browser wallet (EIP-1193). Pages work without it.
//
// #wallet-connect asks the wallet for an account. A button with data-wallet-tx="/api/tx/..."
// (a path under the app's base) fetches that step's unsigned transactions for the account,
// with its form's fields if it sits in one, has the wallet send each in order, waits until
// each is mined, then reloads the page. Progress and refusals go to #wallet-status.
// window.tesseraWallet lends the same account, status and refusal wording to page scripts.
"use strict";

(() => {
  const ethereum = window.ethereum;
  const base = document.body.dataset.base || "";
  const REMEMBERED = "tessera.wallet";
  const POLL_MS = 2000;
  const POLLS = 300; // ten minutes, then the person is told to look in the wallet

  function say(text, failed = false) {
    const box = document.getElementById("wallet-status");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", failed);
  }

  function show(address) {
    const shown = document.getElementById("wallet-address");
    if (!shown) return;
    shown.textContent = address ? `Wallet ${address.slice(0, 6)}…${address.slice(-4)}` : "";
    shown.title = address || "";
  }

  function remember(address) {
    if (address) sessionStorage.setItem(REMEMBERED, address);
    else sessionStorage.removeItem(REMEMBERED);
    show(address);
    return address;
  }

  function explain(error) {
    if (error && error.code === 4001) return "You declined in your wallet: nothing was sent.";
    if (error && error.code === 4100) return "Your wallet has not allowed this site: connect it.";
    if (error && error.code === -32002) return "Your wallet is already asking: open it to answer.";
    return (error && error.message) || String(error);
  }

  async function connect() {
    const accounts = await ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts || !accounts.length) throw new Error("The wallet gave no account.");
    return remember(accounts[0]);
  }

  // the account the wallet has allowed this site, without asking; else ask
  async function account() {
    const accounts = await ethereum.request({ method: "eth_accounts" });
    return accounts && accounts.length ? remember(accounts[0]) : connect();
  }

  async function getJSON(url) {
    return readJSON(await fetch(url, { headers: { Accept: "application/json" } }));
  }

  // The body of a JSON answer; a refusal's error sentence, or the status, becomes an Error.
  async function readJSON(response) {
    let body;
    try {
      body = await response.json();
    } catch {
      throw new Error(`The server answered ${response.status}, not with JSON.`);
    }
    if (!response.ok) throw new Error(body.error || `The server answered ${response.status}.`);
    return body;
  }

  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  async function mined(hash) {
    for (let poll = 0; poll < POLLS; poll += 1) {
      const { status } = await getJSON(`${base}/api/tx-status/${encodeURIComponent(hash)}`);
      if (status === "succeeded") return;
      if (status === "reverted") throw new Error(`Transaction ${hash} failed on chain.`);
      await sleep(POLL_MS);
    }
    throw new Error(`Transaction ${hash} is not mined yet: look in your wallet, then reload.`);
  }

  function stepURL(button, from) {
    const url = new URL(base + button.dataset.walletTx, window.location.origin);
    if (button.form) {
      for (const [name, value] of new FormData(button.form)) {
        if (name !== "csrf" && typeof value === "string") url.searchParams.set(name, value);
      }
    }
    url.searchParams.set("from", from);
    return url;
  }

  async function onChain(wanted) {
    const current = BigInt(await ethereum.request({ method: "eth_chainId" }));
    if (current !== BigInt(wanted)) {
      throw new Error(`Your wallet is on chain ${current}: switch it to chain ${BigInt(wanted)}.`);
    }
  }

  async function sameChain(transactions) {
    if (transactions.length) await onChain(transactions[0].chainId);
  }

  // POST fields as JSON to a path under the app's base, with this page's CSRF token.
  async function postJSON(path, fields) {
    const csrf = document.body.dataset.csrf || "";
    const response = await fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ ...fields, csrf }),
    });
    return readJSON(response);
  }

  // The wallet's EIP-712 signature of `typed`, refused first if the wallet is on another chain.
  async function signTyped(account, typed) {
    await onChain(typed.domain.chainId);
    const params = [account, JSON.stringify(typed)];
    return ethereum.request({ method: "eth_signTypedData_v4", params });
  }

  async function send(button) {
    if (!ethereum) {
      say("No browser wallet found: install one, or sign in with a local account.", true);
      return;
    }
    button.disabled = true;
    try {
      const from = await account();
      say("Preparing the transaction…");
      const { transactions } = await getJSON(stepURL(button, from));
      await sameChain(transactions);
      for (const [index, tx] of transactions.entries()) {
        const which = transactions.length > 1 ? ` ${index + 1} of ${transactions.length}` : "";
        say(`Confirm transaction${which} in your wallet…`);
        const hash = await ethereum.request({ method: "eth_sendTransaction", params: [tx] });
        say(`Transaction${which} sent (${hash}): waiting for it to be mined…`);
        await mined(hash);
      }
      say("Done: reloading the page.");
      window.location.reload();
    } catch (error) {
      say(explain(error), true);
      button.disabled = false;
    }
  }

  function start() {
    const connectButton = document.getElementById("wallet-connect");
    if (ethereum && connectButton) {
      connectButton.hidden = false;
      connectButton.addEventListener("click", () => {
        connect().catch((error) => say(explain(error), true));
      });
    }
    if (ethereum) {
      for (const button of document.querySelectorAll("[data-wallet-tx][hidden]")) {
        button.hidden = false;
      }
      show(sessionStorage.getItem(REMEMBERED));
      if (typeof ethereum.on === "function") {
        ethereum.on("accountsChanged", (accounts) => remember(accounts && accounts[0]));
      }
    }
    document.addEventListener("click", (event) => {
      const button = event.target instanceof Element && event.target.closest("[data-wallet-tx]");
      // only the app's own wallet steps, whatever else a page holds
      if (!button || !button.dataset.walletTx.startsWith("/api/tx/")) return;
      event.preventDefault();
      send(button);
    });
  }

  window.tesseraWallet = Object.freeze({ account, say, explain, readJSON, postJSON, signTyped });
  start();
})();
