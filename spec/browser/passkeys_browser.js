// spec/browser/passkeys_browser.js -- the passkey page of the OpenResty
// example (examples/openresty/passkey.html) in a real browser: Debian's
// Chromium, headless, driven over the DevTools protocol by puppeteer-core,
// with Chromium's own virtual authenticator (WebAuthn.addVirtualAuthenticator:
// CTAP2, internal transport, resident keys, user verification).  The page
// calls nginx (passkey_login.lua), which calls the emulator through the
// library's OpenResty transport.
//
//   1. register a passkey for ann (password, navigator.credentials.create)
//   2. sign in with her username (allowCredentials names the credential)
//   3. sign in without one (a discoverable credential, empty allowCredentials)
//   4. a screenshot of the signed-in page (a PNG) and the text in the DOM
//   5. the same assertion again, posted as the page would: refused (replay)
//   6. the cross-check: @simplewebauthn/server verifies the browser's
//      registration and both assertions independently (the challenges and
//      origin of the exchange, relying party localhost, user verification),
//      and agrees with the emulator and with Chromium's authenticator on the
//      credential id and the signature counter
//   7. no log holds a credential's or an assertion's response
//
// Env: PAGE_URL (http://localhost:PORT/passkey/), NODE_DIR (where
// puppeteer-core and @simplewebauthn/server are installed), CHROMIUM
// (/usr/bin/chromium), SCREENSHOT (the PNG to write), USER_DATA_DIR (a fresh
// directory), PASSWORD, LOGS (files that must not hold the authenticator's
// answers, separated by colons).  Exits 0 when everything holds; prints what it saw.
"use strict";
const path = require("path");
const fs = require("fs");
const assert = require("assert");

const DIR = process.env.NODE_DIR;
const puppeteer = require(path.join(DIR, "node_modules", "puppeteer-core"));
const swa = require(path.join(DIR, "node_modules", "@simplewebauthn", "server"));

const PAGE_URL = process.env.PAGE_URL;
const ORIGIN = new URL(PAGE_URL).origin;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.SCREENSHOT;
const PASSWORD = process.env.PASSWORD || "demo password for ann";
const STEP_MS = 20000;

function log(...a) { console.log(...a); }

async function main() {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: process.env.USER_DATA_DIR,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage"],
    protocolTimeout: 60000,
  });
  try {
    log("chromium " + (await browser.version()));
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on("console", m => log("  [page " + m.type() + "] " + m.text()));
    page.on("pageerror", e => log("  [page error] " + e.message));

    // what the page and nginx exchange: each POST's body and its answer
    const exchange = [];
    page.on("response", r => {
      const req = r.request();
      if (req.method() !== "POST") return;
      exchange.push({ path: new URL(r.url()).pathname, status: r.status(), sent: req.postData(),
                      answer: r.text().catch(() => "") });
    });
    const answered = async p => {
      const x = exchange.filter(e => e.path === p);
      assert(x.length > 0, "no POST " + p);
      const last = x[x.length - 1];
      return { status: last.status, sent: last.sent && JSON.parse(last.sent), answer: JSON.parse(await last.answer) };
    };

    // Chromium's virtual authenticator, for this page's target
    const cdp = await page.createCDPSession();
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
                 isUserVerified: true, automaticPresenceSimulation: true } });
    log("virtual authenticator " + authenticatorId);

    await page.goto(PAGE_URL, { waitUntil: "load" });
    assert.strictEqual(await page.evaluate(() => window.isSecureContext), true, "not a secure context");

    const waitState = async (want, what) => {
      await page.waitForFunction(w => { const s = document.getElementById("status").dataset.state;
                                        return s === w || s === "error"; }, {}, want);
      const [state, text] = await page.evaluate(() => [document.getElementById("status").dataset.state,
                                                       document.getElementById("status").textContent]);
      log(what + ": " + text);
      assert.strictEqual(state, want, what + " failed: " + text);
    };

    // 1. registration
    await page.type("#reg-password", PASSWORD);
    await page.click("#register");
    await waitState("registered", "1. register");
    const regOpts = await answered("/passkey/register/options");
    const reg = await answered("/passkey/register/verify");
    assert.strictEqual(reg.status, 200);
    assert.strictEqual(reg.answer.step, "registered");
    assert.strictEqual(reg.answer.user, "ann");
    const creds = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
    assert.strictEqual(creds.length, 1, "the authenticator holds one credential");
    assert.strictEqual(creds[0].isResidentCredential, true, "a discoverable credential");
    log("   factor " + reg.answer.factor_sid + ", credential " + reg.sent.id + " (" +
        reg.sent.authenticatorAttachment + ", transports " + JSON.stringify(reg.sent.response.transports) + ")");

    // 2. sign-in with the username
    await page.type("#login-username", "ann");
    await page.click("#signin");
    await waitState("signed-in", "2. sign in as ann");
    const opts1 = await answered("/passkey/login/options");
    const as1 = await answered("/passkey/login/verify");
    assert.strictEqual(as1.status, 200);
    assert.deepStrictEqual(as1.answer, { step: "done", user: "ann" });
    assert.strictEqual(opts1.answer.options.publicKey.allowCredentials.length, 1);

    // 3. sign-in without a username: the discoverable credential
    await page.evaluate(() => {
      document.getElementById("login-username").value = "";
      document.getElementById("status").dataset.state = "";
      const b = document.getElementById("signed-in"); b.textContent = ""; delete b.dataset.user;
    });
    await page.click("#signin");
    await waitState("signed-in", "3. sign in without a username");
    const opts2 = await answered("/passkey/login/options");
    const as2 = await answered("/passkey/login/verify");
    assert.deepStrictEqual(opts2.sent, {});
    assert.deepStrictEqual(as2.answer, { step: "done", user: "ann" });
    assert(as2.sent.response.userHandle, "a discoverable assertion carries the user handle");

    // 4. what a person sees: the screenshot and the text
    const text = await page.$eval("#signed-in", e => e.textContent);
    assert.strictEqual(text, "Signed in as ann with a passkey");
    assert(await page.$eval("#signed-in", e => e.offsetHeight > 0), "the signed-in box is not shown");
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = fs.readFileSync(SCREENSHOT);
    assert(png.length > 1000 && png.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])),
           "the screenshot is not a PNG");
    log("4. screenshot " + SCREENSHOT + " (" + png.length + " bytes, PNG)");

    // 5. a replay of the last assertion, from the page: Verify refuses it
    const replay = await page.evaluate(async body => {
      const r = await fetch("/passkey/login/verify", { method: "POST", headers: { "Content-Type": "application/json" },
                                                       body: JSON.stringify(body) });
      return { status: r.status, answer: await r.json() };
    }, as2.sent);
    log("5. replayed assertion: " + replay.status + " " + JSON.stringify(replay.answer));
    assert.strictEqual(replay.status, 401);

    // 6. the independent verifier
    const pk = regOpts.answer.options.publicKey;
    const r = await swa.verifyRegistrationResponse({
      response: Object.assign({ clientExtensionResults: {} }, reg.sent),
      expectedChallenge: pk.challenge, expectedOrigin: ORIGIN, expectedRPID: "localhost",
      requireUserVerification: true });
    assert(r.verified, "@simplewebauthn/server refused the registration");
    const info = r.registrationInfo;
    assert.strictEqual(info.fmt, "none");
    assert.strictEqual(info.credential.id, reg.sent.id);
    assert.strictEqual(info.credentialDeviceType === "singleDevice" || info.credentialDeviceType === "multiDevice", true);
    assert.strictEqual(Buffer.from(creds[0].credentialId, "base64").toString("base64url"), reg.sent.id,
                       "Chromium's credential is not the one registered");
    log("6. @simplewebauthn/server: registration verified (fmt " + info.fmt + ", credential " + info.credential.id +
        ", user verified " + info.userVerified + ", counter " + info.credential.counter + ")");
    let counter = info.credential.counter;
    for (const [n, o, a] of [[2, opts1, as1], [3, opts2, as2]]) {
      const v = await swa.verifyAuthenticationResponse({
        response: Object.assign({ clientExtensionResults: {} }, a.sent),
        expectedChallenge: o.answer.options.publicKey.challenge, expectedOrigin: ORIGIN, expectedRPID: "localhost",
        credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter },
        requireUserVerification: true });
      assert(v.verified, "@simplewebauthn/server refused assertion " + n);
      log("   assertion " + n + " verified (counter " + counter + " -> " + v.authenticationInfo.newCounter + ")");
      counter = v.authenticationInfo.newCounter;
    }
    // 7. what nginx and the emulator wrote holds none of the authenticator's answers
    const secrets = [reg.sent.response.attestationObject, reg.sent.response.clientDataJSON,
                     as1.sent.response.signature, as2.sent.response.signature, as1.sent.response.authenticatorData];
    for (const f of (process.env.LOGS || "").split(":").filter(Boolean)) {
      if (!fs.existsSync(f)) continue;
      const body = fs.readFileSync(f, "latin1");
      for (const x of secrets) assert(!body.includes(x), f + " holds a credential's response");
    }
    const after = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0];
    assert.strictEqual(after.signCount, counter, "Chromium's counter " + after.signCount + " is not " + counter);
    log("passkeys in Chromium: registration and two sign-ins accepted by the emulator and by @simplewebauthn/server");
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), e => { console.error("FAILED: " + (e && e.stack || e)); process.exit(1); });
