// The answer page's own check of its receipt (an ES module; answer.html alone loads it).
//
// It fetches the receipt's JSON, recomputes in this browser every hash the node signed and
// recovers the signer (receipt-check.mjs), checks that the answer shown is the one signed,
// and says the outcome in #receipt-in-browser. The server's check above it also reads the
// chain; this one takes nothing the server concluded on trust.
import { checkReceipt } from "./receipt-check.mjs";

const box = document.getElementById("receipt-in-browser");
const shown = document.getElementById("answer-text");

function say(text, verified) {
  box.textContent = text;
  box.classList.toggle("ok", verified === true);
  box.classList.toggle("error", verified === false);
}

// the answer as the HTML parser leaves it in the page: line ends as LF, NUL dropped
function asShown(text) {
  return text.replace(/\r\n?/g, "\n").replaceAll("\0", "");
}

// its text, not app.js's readJSON: JSON.parse would round the numbers the request hash covers
async function receiptText() {
  const response = await fetch(box.dataset.receipt, {
    headers: { Accept: "application/json" },
    cache: "no-store",
  });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return response.text();
}

async function check() {
  say("Checking the node's signature in your browser…");
  let text;
  try {
    text = await receiptText();
  } catch (error) {
    say(`Not checked in your browser: the receipt could not be fetched (${error.message}).`, false);
    return;
  }
  const result = checkReceipt(text);
  if (!result.verified) {
    say(`Does not verify in your browser: ${result.reason}.`, false);
  } else if (shown && shown.textContent !== asShown(result.answer)) {
    say(
      "Does not verify in your browser: the answer shown here is not the one the node signed.",
      false,
    );
  } else {
    say(
      `Verified in your browser: signed by ${result.signer}, the node this receipt names ` +
        "(every hash its signature covers recomputed here from the receipt).",
      true,
    );
  }
}

if (box) check();
