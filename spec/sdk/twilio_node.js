'use strict';
// spec/sdk/twilio_node.js -- Twilio's official Node.js SDK (npm `twilio`,
// unmodified) drives twilio-verify-emulator through every Verify resource
// in its scope: Services, Entities, Factors (TOTP created and verified with
// a code, push created and verified with a signature), Challenges (created,
// approved, listed with filters and paging), Notifications, AccessTokens,
// Webhooks, one-time codes (Verifications, VerificationCheck, the code read
// from the emulator's outbox), RateLimits/Buckets, Attempts, Templates -- and gets the emulator's validation (the OpenAPI description)
// as a RestException with code 60200.  The only change to the SDK is the base
// URL of its Verify domain: client.verify.baseUrl = the emulator.
//
// Run by .ci/checks.d/twilio-node:
//   TWILIO_NODE_DIR=<where npm installed twilio> EMULATOR_URL=http://127.0.0.1:PORT
//   ACCOUNT_SID=AC... AUTH_TOKEN=... node spec/sdk/twilio_node.js
// Prints "ok <step>" per step and "twilio-node: N steps passed"; exits 1 on
// the first step that fails.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const base = process.env.EMULATOR_URL;
const accountSid = process.env.ACCOUNT_SID;
const authToken = process.env.AUTH_TOKEN;
assert.ok(base && accountSid && authToken, 'EMULATOR_URL, ACCOUNT_SID and AUTH_TOKEN are required');
const twilio = require(require.resolve('twilio', { paths: [process.env.TWILIO_NODE_DIR || process.cwd()] }));
const sdkVersion = require(require.resolve('twilio/package.json', { paths: [process.env.TWILIO_NODE_DIR || process.cwd()] })).version;

const client = twilio(accountSid, authToken);
client.verify.baseUrl = base; // the one change: Verify's base URL is the emulator
const v2 = client.verify.v2;
const ID = 'node-sdk-user-01';

// ---------------------------------------------------------------- helpers

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written here: independent of the emulator
function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    assert.ok(i >= 0, 'a Base32 secret');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, unix, digits = 6, step = 30) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / step)));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits;
  return String(n).padStart(digits, '0');
}

// the emulator's control API (no auth): fix its clock so codes are exact
async function setClock(t) {
  // (the control API takes JSON bodies only: fetch would say text/plain)
  const r = await fetch(`${base}/__emulator/clock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ time: t }),
  });
  assert.equal(r.status, 200);
}

async function refused(promise, status, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof twilio.RestException, `a RestException, got ${e && e.constructor && e.constructor.name}: ${e}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    assert.equal(e.moreInfo, `https://www.twilio.com/docs/errors/${code}`);
    return e;
  }
  assert.fail(`expected a ${status} ${code} RestException`);
}

let passed = 0;
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAILED ${name}:`, e);
    process.exit(1);
  }
  passed++;
  console.log(`ok ${name}`);
}

// ---------------------------------------------------------------- the steps

async function main() {
  const T = Math.floor(Date.now() / 1000);
  await setClock(T);
  let svc, totpFactor, pushFactor, pushKeys, webhook;
  const S = () => v2.services(svc.sid);
  const E = () => S().entities(ID);

  await step('services: create, fetch, update, list', async () => {
    svc = await v2.services.create({ friendlyName: 'twilio-node', codeLength: 7, 'totp.issuer': 'Node Co' });
    assert.match(svc.sid, /^VA[0-9a-f]{32}$/);
    assert.equal(svc.friendlyName, 'twilio-node');
    assert.equal(svc.codeLength, 7);
    assert.equal(svc.totp.issuer, 'Node Co');
    const got = await S().fetch();
    assert.equal(got.sid, svc.sid);
    const upd = await S().update({ psd2Enabled: true, friendlyName: 'twilio-node 2' });
    assert.equal(upd.psd2Enabled, true);
    assert.equal(upd.friendlyName, 'twilio-node 2');
    const all = await v2.services.list({ limit: 50 });
    assert.ok(all.some((s) => s.sid === svc.sid), 'the service is listed');
  });

  await step('entities: create, fetch, list', async () => {
    const e = await S().entities.create({ identity: ID });
    assert.equal(e.identity, ID);
    assert.match(e.sid, /^YE[0-9a-f]{32}$/);
    assert.equal((await E().fetch()).sid, e.sid);
    const list = await S().entities.list();
    assert.deepEqual(list.map((x) => x.identity), [ID]);
  });

  await step('factors (TOTP): create, verify with a code, fetch, list', async () => {
    totpFactor = await E().newFactors.create({ friendlyName: 'phone', factorType: 'totp', 'config.codeLength': 6 });
    assert.equal(totpFactor.status, 'unverified');
    assert.match(totpFactor.binding.secret, /^[A-Z2-7]+$/);
    assert.match(totpFactor.binding.uri, /^otpauth:\/\/totp\/Node%20Co:phone\?secret=/);
    const wrong = await E().factors(totpFactor.sid).update({ authPayload: '000000' === totp(totpFactor.binding.secret, T) ? '111111' : '000000' });
    assert.equal(wrong.status, 'unverified');
    const ok = await E().factors(totpFactor.sid).update({ authPayload: totp(totpFactor.binding.secret, T) });
    assert.equal(ok.status, 'verified');
    const got = await E().factors(totpFactor.sid).fetch();
    assert.equal(got.status, 'verified');
    assert.deepEqual(got.config, { alg: 'sha1', skew: 1, code_length: 6, time_step: 30 });
    const list = await E().factors.list();
    assert.deepEqual(list.map((f) => f.sid), [totpFactor.sid]);
  });

  const challengeSids = [];
  await step('challenges (TOTP): create approved by the code, create pending, fetch, approve by update', async () => {
    const approved = await E().challenges.create({ factorSid: totpFactor.sid, authPayload: totp(totpFactor.binding.secret, T) });
    assert.equal(approved.status, 'approved');
    assert.match(approved.sid, /^YC[0-9a-f]{32}$/);
    challengeSids.push(approved.sid);
    const pending = await E().challenges.create({ factorSid: totpFactor.sid, expirationDate: new Date((T + 600) * 1000) });
    assert.equal(pending.status, 'pending');
    assert.equal(pending.expirationDate.getTime(), (T + 600) * 1000);
    challengeSids.push(pending.sid);
    assert.equal((await E().challenges(pending.sid).fetch()).status, 'pending');
    const done = await E().challenges(pending.sid).update({ authPayload: totp(totpFactor.binding.secret, T), metadata: { os: 'node' } });
    assert.equal(done.status, 'approved');
    assert.deepEqual(done.metadata, { os: 'node' });
  });

  await step('challenges: list with filters (factor, status, order) and paging', async () => {
    for (let i = 0; i < 5; i++) {
      const c = await E().challenges.create({ factorSid: totpFactor.sid });
      challengeSids.push(c.sid);
    }
    const asc = await E().challenges.list({ factorSid: totpFactor.sid, pageSize: 2 });
    assert.deepEqual(asc.map((c) => c.sid), challengeSids, 'every challenge, in creation order, over 4 pages');
    const desc = await E().challenges.list({ factorSid: totpFactor.sid, order: 'desc', pageSize: 3 });
    assert.deepEqual(desc.map((c) => c.sid), [...challengeSids].reverse());
    const pending = await E().challenges.list({ status: 'pending', pageSize: 2 });
    assert.deepEqual(pending.map((c) => c.sid), challengeSids.slice(2));
    assert.ok(pending.every((c) => c.status === 'pending'));
    const approved = await E().challenges.list({ status: 'approved' });
    assert.deepEqual(approved.map((c) => c.sid), challengeSids.slice(0, 2));
    const page = await E().challenges.page({ pageSize: 3 });
    assert.equal(page.instances.length, 3);
    const next = await page.nextPage();
    assert.deepEqual(next.instances.map((c) => c.sid), challengeSids.slice(3, 6));
    const limited = await E().challenges.list({ limit: 4, pageSize: 3 });
    assert.equal(limited.length, 4);
  });

  await step('access tokens: create, fetch', async () => {
    const at = await S().accessTokens.create({ identity: ID, factorType: 'push', factorFriendlyName: 'Pixel', ttl: 120 });
    assert.match(at.sid, /^YK[0-9a-f]{32}$/);
    assert.equal(at.ttl, 120);
    assert.equal(at.entityIdentity, ID);
    assert.match(at.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const got = await S().accessTokens(at.sid).fetch();
    assert.equal(got.token, at.token);
  });

  await step('factors (push): create with a P-256 key, verify with a signature', async () => {
    pushKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = pushKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    pushFactor = await E().newFactors.create({
      friendlyName: 'Pixel', factorType: 'push', 'binding.alg': 'ES256', 'binding.publicKey': pub,
      'config.appId': 'com.example.app', 'config.notificationPlatform': 'fcm',
      'config.notificationToken': 't'.repeat(40), 'config.sdkVersion': '1.0', metadata: { os: 'Android' },
    });
    assert.equal(pushFactor.factorType, 'push');
    assert.deepEqual(pushFactor.metadata, { os: 'Android' });
    const sig = crypto.sign('sha256', Buffer.from(pushFactor.sid), pushKeys.privateKey).toString('base64');
    const verified = await E().factors(pushFactor.sid).update({ authPayload: sig });
    assert.equal(verified.status, 'verified');
  });

  await step('challenges (push) with details, and notifications', async () => {
    const ch = await E().challenges.create({
      factorSid: pushFactor.sid, 'details.message': 'Log in?',
      'details.fields': [{ label: 'IP', value: '203.0.113.7' }], hiddenDetails: { ip: '203.0.113.7' },
    });
    assert.equal(ch.status, 'pending');
    assert.equal(ch.details.message, 'Log in?');
    assert.deepEqual(ch.details.fields, [{ label: 'IP', value: '203.0.113.7' }]);
    assert.deepEqual(ch.hiddenDetails, { ip: '203.0.113.7' });
    const n = await E().challenges(ch.sid).notifications.create({ ttl: 120 });
    assert.match(n.sid, /^NT[0-9a-f]{32}$/);
    assert.equal(n.ttl, 120);
    assert.equal(n.challengeSid, ch.sid);
    assert.equal(n.priority, 'high');
  });

  await step('webhooks: create, fetch, update, list, remove', async () => {
    webhook = await S().webhooks.create({
      friendlyName: 'app', eventTypes: ['factor.verified', 'challenge.approved'],
      webhookUrl: 'https://example.com/hook', version: 'v2',
    });
    assert.match(webhook.sid, /^YW[0-9a-f]{32}$/);
    assert.deepEqual(webhook.eventTypes, ['factor.verified', 'challenge.approved']);
    assert.equal(webhook.status, 'enabled');
    assert.equal((await S().webhooks(webhook.sid).fetch()).webhookUrl, 'https://example.com/hook');
    const upd = await S().webhooks(webhook.sid).update({ status: 'disabled', eventTypes: ['*'] });
    assert.equal(upd.status, 'disabled');
    assert.deepEqual(upd.eventTypes, ['*']);
    assert.deepEqual((await S().webhooks.list()).map((w) => w.sid), [webhook.sid]);
    assert.equal(await S().webhooks(webhook.sid).remove(), true);
    await refused(S().webhooks(webhook.sid).fetch(), 404, 20404);
  });

  await step('validation by the description: RestException 60200 naming the parameter and the rule', async () => {
    const e = await refused(E().newFactors.create({ friendlyName: 'x', factorType: 'totp', 'config.timeStep': 61 }), 400, 60200);
    assert.equal(e.details.parameter, 'Config.TimeStep');
    assert.match(e.details.rule, /Must be between 20 and 60 seconds, inclusive/);
    // a rule only the description's prose states (twilio-node sends the object as JSON text)
    const m = await refused(E().newFactors.create({ friendlyName: 'x', factorType: 'totp', metadata: { n: 1 } }), 400, 60200);
    assert.equal(m.details.parameter, 'Metadata');
    assert.match(m.details.rule, /only strings values/);
    const w = await refused(S().webhooks.create({ friendlyName: 'x', eventTypes: ['factor.eaten'], webhookUrl: 'https://example.com' }), 400, 60200);
    assert.equal(w.details.parameter, 'EventTypes');
  });

  let otp;
  const O = () => v2.services(otp.sid);
  await step('one-time codes: a verification, its code read from the outbox, a wrong and a right check', async () => {
    otp = await v2.services.create({ friendlyName: 'Codes' }); // a service without PSD2
    const to = '+15557654321';
    const v = await O().verifications.create({ to, channel: 'sms' });
    assert.match(v.sid, /^VE[0-9a-f]{32}$/);
    assert.equal(v.status, 'pending');
    const r = await fetch(`${base}/__emulator/messages?to=${encodeURIComponent(to)}`);
    assert.equal(r.status, 200);
    const msgs = (await r.json()).messages;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].verification_sid, v.sid);
    const code = msgs[0].body.match(/\d{4,10}/)[0];
    const bad = await O().verificationChecks.create({ to, code: code === '000000' ? '111111' : '000000' });
    assert.equal(bad.status, 'pending');
    assert.equal(bad.valid, false);
    const ok = await O().verificationChecks.create({ verificationSid: v.sid, code });
    assert.equal(ok.status, 'approved');
    assert.equal(ok.valid, true);
    await refused(O().verifications(v.sid).fetch(), 404, 20404);
  });

  await step('rate limits and buckets: created, listed, enforced (20429), attempts listed', async () => {
    const rl = await O().rateLimits.create({ uniqueName: 'per_user', description: 'sends per user' });
    assert.match(rl.sid, /^RK[0-9a-f]{32}$/);
    const b = await O().rateLimits(rl.sid).buckets.create({ max: 1, interval: 60 });
    assert.equal(b.max, 1);
    assert.deepEqual((await O().rateLimits(rl.sid).buckets.list()).map((x) => x.sid), [b.sid]);
    await O().verifications.create({ to: '+15557654322', channel: 'sms', rateLimits: { per_user: 'u1' } });
    await refused(O().verifications.create({ to: '+15557654323', channel: 'sms', rateLimits: { per_user: 'u1' } }), 429, 20429);
    const attempts = await v2.verificationAttempts.list({ verifyServiceSid: otp.sid });
    assert.equal(attempts.length, 2);
    const summary = await v2.verificationAttemptsSummary().fetch({ verifyServiceSid: otp.sid });
    assert.equal(summary.totalAttempts, 2);
    assert.equal(summary.totalConverted, 1);
    assert.ok((await v2.templates.list()).length >= 1);
    assert.equal(await O().rateLimits(rl.sid).remove(), true);
    assert.equal(await O().remove(), true);
  });

  await step('cleanup: remove the factors, the entity and the service', async () => {
    assert.equal(await E().factors(totpFactor.sid).remove(), true);
    assert.equal(await E().factors(pushFactor.sid).remove(), true);
    await refused(E().factors(totpFactor.sid).fetch(), 404, 20404);
    assert.equal(await E().remove(), true);
    assert.equal(await S().remove(), true);
    await refused(S().fetch(), 404, 20404);
  });

  await setClock(null);
  console.log(`twilio-node ${sdkVersion}: ${passed} steps passed against ${base}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
