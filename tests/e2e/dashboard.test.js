'use strict';

// `thruster dashboard` in headless Chromium (driven by playwright-core), against a real thruster-broker with
// its name server, fed and drained by ali-ons clients. Run by tests/e2e/run_dashboard.sh (CTest
// e2e_dashboard) with THRUSTER_BROKER and THRUSTER_CLI set; CHROMIUM overrides /usr/bin/chromium. With
// THRUSTER_DASHBOARD_SCREENSHOTS=<dir> it also saves screenshots of the main pages there (`make
// dashboard-screenshots` writes docs/dashboard/). Every wait is on a condition with a deadline.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');
const { Producer, Consumer, Message } = require('ali-ons');
const MQProducer = require('ali-ons/lib/producer/mq_producer');

const BROKER = process.env.THRUSTER_BROKER;
const CLI = process.env.THRUSTER_CLI;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.THRUSTER_DASHBOARD_SCREENSHOTS;
const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
const WAIT_MS = 30000;
// ali-ons clients' periodic tasks (route polling, heartbeats, rebalancing) sleep this long between runs, and
// a closed client's process only exits once its sleeps end: short ones keep the test's teardown short.
const CLIENT_INTERVALS = { pollNameServerInteval: 1000, heartbeatBrokerInterval: 1000, rebalanceInterval: 1000 };

const quietLogger = { info() {}, warn() {}, debug() {}, error() {} };
const noHttp = { request() { throw new Error('no http in tests'); } };

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Polls `probe` (async, returns a truthy value when done) until it succeeds or `ms` pass.
async function until(probe, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) { last = err; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

// Starts `program args`; resolves with the first match of `pattern` on its stdout.
function startProcess(program, args, pattern, what) {
  const child = spawn(program, args, { stdio: [ 'ignore', 'pipe', 'pipe' ] });
  let out = '';
  let log = '';
  child.stderr.on('data', d => { log += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${out}${log}`)), 30000);
    child.on('exit', code => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${out}${log}`)); });
    child.on('error', err => { clearTimeout(timer); reject(new Error(`${what} did not start: ${err.message}`)); });
    child.stdout.on('data', d => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, match: m, log: () => log });
      }
    });
  });
}

function stop(proc) {
  return new Promise(resolve => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return resolve(proc.child.exitCode);
    proc.child.on('exit', code => resolve(code));
    proc.child.kill('SIGTERM');
  });
}

let consumerSeq = 0;
// A push consumer recording each delivery; `fail` makes every delivery fail (so it is sent back).
function newConsumer(nameSrv, group, topic, { fail = false, maxReconsumeTimes = 16 } = {}) {
  const consumer = new Consumer({
    ...CLIENT_INTERVALS, nameSrv, httpclient: noHttp, consumerGroup: group, logger: quietLogger,
    instanceName: `D${++consumerSeq}`,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', persistConsumerOffsetInterval: 500, maxReconsumeTimes,
  });
  const deliveries = [];
  consumer.subscribe(topic, '*', async msg => {
    deliveries.push(msg);
    if (fail) throw new Error('consumer refuses this message');
  });
  consumer.on('error', () => {});
  return { consumer, deliveries };
}


const skip = (!BROKER || !CLI) && 'THRUSTER_BROKER/THRUSTER_CLI not set';
test('thruster dashboard in a browser', { skip }, async t => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-dashboard-'));
  // Closed last-opened first, the processes together, once every subtest is done.
  const closers = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  // Chromium starts while the broker and the dashboard do.
  const browserStarting = chromium.launch({ executablePath: CHROMIUM, args: [ '--no-sandbox' ] });
  closers.push(async () => (await browserStarting).close());
  const broker = await startProcess(BROKER, [
    `--storePathRootDir=${path.join(tmp, 'store')}`, '--listenPort=0', '--namesrvListenPort=0',
    '--bindAddress=127.0.0.1', '--brokerIP1=127.0.0.1', '--mappedFileSizeCommitLog=16777216',
    '--mappedFileSizeConsumeQueue=60000', '--maxHashSlotNum=5000', '--maxIndexNum=20000', '--logTarget=stderr',
  ], /listening on 127\.0\.0\.1:(\d+).*name server on port (\d+)/, 'thruster-broker');
  const brokerAddr = `127.0.0.1:${broker.match[1]}`;
  const nameSrv = `127.0.0.1:${broker.match[2]}`;
  let dashboard;
  try {
    dashboard = await startProcess(CLI, [ 'dashboard', '--namesrv', nameSrv, '--port', '0' ],
      /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/, 'thruster dashboard');
  } finally {
    closers.push(() => Promise.all([ stop(broker), dashboard && stop(dashboard) ]));
  }
  const base = dashboard.match[1];
  const getJson = async url => {
    const res = await fetch(new URL(url, base));
    return { status: res.status, body: await res.json() };
  };

  const browser = await browserStarting;
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(WAIT_MS);
  const consoleErrors = [];
  page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', err => consoleErrors.push(err.message));
  const shot = async name => {
    if (!SHOTS) return;
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  const producer = new Producer({ ...CLIENT_INTERVALS, nameSrv, httpclient: noHttp, producerGroup: `DPG_${RUN_ID}`,
    logger: quietLogger, instanceName: `DP${RUN_ID}` });
  await producer.ready();
  closers.push(() => withTimeout(producer.close(), 5000, 'producer close'));
  // ali-ons keeps a process-wide inner producer (consumers send back through it): close it while the
  // broker still runs, or its reconnect attempts fail the run.
  closers.push(async () => {
    if (MQProducer.defaultProducer) await withTimeout(MQProducer.defaultProducer.close(), 5000, 'inner producer close');
  });
  const send = async (topic, n, prefix) => {
    const results = [];
    for (let i = 0; i < n; i++) {
      const msg = new Message(topic, 'TagA', `${prefix} body ${i}`);
      msg.keys = [ `${prefix}-${i}` ];
      const r = await producer.send(msg);
      assert.equal(r.sendStatus, 'SEND_OK');
      results.push(r);
    }
    return results;
  };

  const topic = `DASH_${RUN_ID}`;
  const group = `DCG_${RUN_ID}`;

  await t.test('the cluster page loads and lists the broker, with no console errors', async () => {
    await page.goto(base);
    await page.locator('[data-testid=brokers] tbody tr', { hasText: brokerAddr }).waitFor();
    assert.match(await page.locator('[data-testid=brokers]').innerText(), /MASTER/);
    assert.equal(await page.locator('[data-testid=broker-count]').innerText(), '1');
    const css = await fetch(new URL('app.css', base));
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /^text\/css/);
    assert.deepEqual(consoleErrors, []);
  });

  await t.test('a topic created in the UI shows up in the topic list and its route', async () => {
    await page.goto(`${base}#/topics`);
    await page.locator('[data-testid=topics]').waitFor();
    await page.click('[data-testid=create-topic]');
    const dialog = page.locator('[data-testid=create-topic-dialog]');
    await dialog.locator('input[name=topic]').fill(topic);
    await dialog.locator('input[name=readQueueNums]').fill('4');
    await dialog.locator('input[name=writeQueueNums]').fill('4');
    await dialog.locator('button[type=submit]').click();
    await page.locator('[data-testid=topics] tbody tr', { hasText: topic }).waitFor();
    // The route reaches the name server with the broker's next registration.
    const route = await until(async () => {
      const r = await getJson(`/api/topic?topic=${topic}`);
      return r.status === 200 && r.body;
    }, WAIT_MS, `a route for ${topic}`);
    assert.equal(route.queues.length, 4);
    await page.goto(`${base}#/topics/${topic}`);
    await page.locator('[data-testid=topic-queues] tbody tr').nth(3).waitFor();
    assert.deepEqual(consoleErrors, []);
  });

  await t.test("a group's lag shows in the UI and drops after it consumes", async () => {
    await send(topic, 20, `warm-${RUN_ID}`);
    let c = newConsumer(nameSrv, group, topic);
    await c.consumer.ready();
    await until(() => c.deliveries.length >= 20, WAIT_MS, '20 deliveries');
    await until(async () => {
      const r = await getJson(`/api/group?group=${group}`);
      return r.status === 200 && r.body.queues.length > 0 && r.body.diffTotal === 0;
    }, WAIT_MS, `${group} to commit its offsets`);
    await withTimeout(c.consumer.close(), 10000, 'consumer close');

    await send(topic, 30, `lag-${RUN_ID}`);
    await page.goto(`${base}#/groups`);
    await page.locator('[data-testid=groups] tbody tr', { hasText: group }).waitFor();
    await page.goto(`${base}#/groups/${group}`);
    const lag = page.locator('[data-testid=group-lag]');
    await page.waitForFunction(() => document.querySelector('[data-testid=group-lag]')?.textContent === '30',
      null, { timeout: WAIT_MS });
    assert.equal(await lag.innerText(), '30');

    c = newConsumer(nameSrv, group, topic);
    await c.consumer.ready();
    closers.push(() => withTimeout(c.consumer.close(), 10000, 'consumer close'));
    await page.waitForFunction(() => document.querySelector('[data-testid=group-lag]')?.textContent === '0',
      null, { timeout: WAIT_MS });
    assert.equal(c.deliveries.length >= 30, true);
    await shot('consumer-group');
    await page.goto(`${base}#/groups`);
    await page.locator('[data-testid=groups] tbody tr', { hasText: group }).waitFor();
    await shot('consumer-groups');
    assert.deepEqual(consoleErrors, []);
  });

  await t.test('a search by key finds the message and shows its detail', async () => {
    const key = `lag-${RUN_ID}-7`;
    await page.goto(`${base}#/messages`);
    await page.fill('input[name=topic]', topic);
    await page.fill('input[name=key]', key);
    await page.click('form button[type=submit]');
    const detail = page.locator('[data-testid=message-detail]');
    await detail.waitFor();
    assert.match(await page.locator('[data-testid=message-results]').innerText(), new RegExp(key));
    assert.equal(await page.locator('[data-testid=message-body]').innerText(), `lag-${RUN_ID} body 7`);
    const props = await page.locator('[data-testid=message-properties]').innerText();
    assert.match(props, new RegExp(`KEYS\\s+${key}`));
    assert.match(props, /TAGS\s+TagA/);
    await page.getByRole('button', { name: 'Hex' }).click();
    assert.match(await page.locator('[data-testid=message-body]').innerText(), /^00000000 {2}6c 61 67 2d/);
    await shot('message-detail');

    // A key nothing carries is an empty result, not an error.
    await page.fill('input[name=key]', `nothing-${RUN_ID}`);
    await page.click('form button[type=submit]');
    await page.locator('[data-testid=message-results] td.empty').waitFor();
    assert.deepEqual(consoleErrors, []);
  });

  await t.test('a dead letter is listed and re-sent to its original topic', async () => {
    const dlqTopic = `DASHDLQ_${RUN_ID}`;
    const dlqGroup = `DDG_${RUN_ID}`;
    const created = await (await fetch(new URL('api/topic', base), { method: 'POST',
      body: JSON.stringify({ topic: dlqTopic, readQueueNums: 1, writeQueueNums: 1 }) })).json();
    assert.deepEqual(created.brokers, [ brokerAddr ]);
    await until(async () => (await getJson(`/api/topic?topic=${dlqTopic}`)).status === 200, WAIT_MS,
      `a route for ${dlqTopic}`);
    const [ sent ] = await send(dlqTopic, 1, `dead-${RUN_ID}`);
    // maxReconsumeTimes 0: the first failure sends the message back past it, straight to %DLQ%<group>.
    const c = newConsumer(nameSrv, dlqGroup, dlqTopic, { fail: true, maxReconsumeTimes: 0 });
    await c.consumer.ready();
    await until(async () => {
      const r = await getJson(`/api/dlq?group=${dlqGroup}`);
      return r.status === 200 && r.body.messages.length === 1;
    }, WAIT_MS, `a message in %DLQ%${dlqGroup}`);
    await withTimeout(c.consumer.close(), 10000, 'consumer close');

    await page.goto(`${base}#/dlq?group=${dlqGroup}`);
    const row = page.locator('[data-testid=dlq-messages] tbody tr', { hasText: sent.msgId });
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(dlqTopic));
    await shot('dead-letters');
    await row.getByRole('button', { name: 'Re-send' }).click();
    await page.locator('.toast', { hasText: `Re-sent 1 message to ${dlqTopic}` }).waitFor();
    // The copy is a new message on the original topic, with the same key and body.
    const found = await until(async () => {
      const r = await getJson(`/api/messages/byKey?topic=${dlqTopic}&key=dead-${RUN_ID}-0`);
      return r.status === 200 && r.body.messages.length === 2 && r.body.messages;
    }, WAIT_MS, 'the re-sent copy');
    const copy = found.find(m => m.msgId !== sent.msgId);
    assert.ok(copy, 'a copy with a new msgId');
    const detail = await getJson(`/api/messages/byId?id=${copy.offsetMsgId}&topic=${dlqTopic}`);
    assert.equal(Buffer.from(detail.body.messages[0].bodyHex, 'hex').toString(), `dead-${RUN_ID} body 0`);
    assert.equal(detail.body.messages[0].properties.RETRY_TOPIC, undefined);
    assert.deepEqual(consoleErrors, []);

    // The search by key finds both; the original's journey shows it stored, fetched by the consumer, dead in
    // %DLQ%<group> and re-sent. (ali-ons reports the offset msgId as msgId.)
    const original = found.find(m => m.msgId === sent.msgId || m.offsetMsgId === sent.msgId);
    assert.ok(original, 'the original among the found');
    await page.goto(`${base}#/messages`);
    await page.fill('input[name=topic]', dlqTopic);
    await page.fill('input[name=key]', `dead-${RUN_ID}-0`);
    await page.click('form button[type=submit]');
    await page.locator('[data-testid=message-results] tbody tr', { hasText: original.msgId }).click();
    await page.locator('[data-testid=message-detail]').waitFor();
    await page.click('[data-testid=journey-button]');
    const journey = page.locator(`[data-testid=journey-group][data-group="${dlqGroup}"]`);
    await journey.locator('[data-testid=journey-stage][data-stage=resent]').waitFor();
    const stages = await journey.locator('[data-testid=journey-stage]').evaluateAll(
      els => els.map(e => e.dataset.stage));
    for (const s of [ 'stored', 'dispatched', 'fetched', 'dlq', 'resent' ]) assert.ok(stages.includes(s), `${s} in ${stages}`);
    assert.ok(stages.indexOf('fetched') < stages.indexOf('dlq') && stages.indexOf('dlq') < stages.indexOf('resent'),
      `${stages}`);
    assert.match(await journey.locator('[data-stage=fetched]').first().innerText(), /pull by \S+@/);
    await shot('message-journey');
    // The same over the API, by the copy's id: one message, its original first.
    const api = await getJson(`/api/messages/journey?id=${copy.msgId}&topic=${dlqTopic}`);
    assert.equal(api.status, 200, JSON.stringify(api.body));
    assert.equal(api.body.brokers[0].messages[0].offsetMsgId, original.offsetMsgId);

    // A search by time range finds both copies, and nothing before them.
    const first = found.reduce((a, m) => Math.min(a, m.storeTimestamp), Infinity);
    const last = found.reduce((a, m) => Math.max(a, m.storeTimestamp), 0);
    let r = await getJson(`/api/messages/byTime?topic=${dlqTopic}&begin=${first}&end=${last}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.messages.map(m => m.offsetMsgId).sort(), found.map(m => m.offsetMsgId).sort());
    r = await getJson(`/api/messages/byTime?topic=${dlqTopic}&begin=0&end=${first - 1}`);
    assert.deepEqual(r.body.messages, []);
    r = await getJson(`/api/messages/byTime?topic=${dlqTopic}&begin=5&end=1`);
    assert.equal(r.status, 400);
    assert.deepEqual(consoleErrors, []);
  });

  await t.test('bad input gets a clear error, not a crash', async () => {
    let r = await getJson('/api/topic?topic=bad%20name');
    assert.equal(r.status, 400);
    assert.match(r.body.error, /valid topic/);
    r = await getJson('/api/messages/byOffset?topic=T&broker=b&queueId=x&offset=1');
    assert.equal(r.status, 400);
    const res = await fetch(new URL('api/dlq/resend', base), { method: 'POST', body: '{not json' });
    assert.equal(res.status, 400);
    r = await getJson('/api/nothing');
    assert.equal(r.status, 404);
    assert.equal((await getJson('/api/cluster')).status, 200, 'still serving');
  });

  const noShots = !SHOTS && 'no screenshot directory';
  await t.test('screenshots of the cluster and topic pages', { skip: noShots }, async () => {
    // Traffic while each page samples, so its live chart has a line to show.
    const chartWithSamples = n => page.waitForFunction(
      k => Number(document.querySelector('canvas.chart')?.dataset.samples || 0) >= k, n, { timeout: WAIT_MS });
    await page.goto(`${base}#/topics/${topic}`);
    await page.locator('[data-testid=topic-queues] tbody tr').nth(3).waitFor();
    for (let i = 0; i < 8; i++) {
      await send(topic, 10 * (i % 4 + 1), `chart-${i}-${RUN_ID}`);
      await chartWithSamples(i + 1);
    }
    await shot('topic');
    await page.goto(`${base}#/topics`);
    await page.locator('[data-testid=topics] tbody tr', { hasText: topic }).waitFor();
    await shot('topics');
    await page.goto(base);
    await page.locator('[data-testid=brokers] tbody tr', { hasText: brokerAddr }).waitFor();
    for (let i = 0; i < 8; i++) {
      await send(topic, 10 * (i % 4 + 1), `chart2-${i}-${RUN_ID}`);
      await chartWithSamples(i + 1);
    }
    await shot('cluster');
    assert.deepEqual(consoleErrors, []);
  });
});
