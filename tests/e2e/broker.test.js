'use strict';

// End-to-end tests of thruster-broker with ali-ons, a pure-JavaScript RocketMQ client.
// Run by tests/e2e/run_e2e.sh (CTest label `e2e`) with THRUSTER_BROKER set to the broker binary:
//   THRUSTER_BROKER=build/asan/apps/thruster-broker node --test tests/e2e/
// Everything listens on 127.0.0.1 only; each broker gets free ports and a fresh temp store.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Producer, Consumer, Message } = require('ali-ons');
const MQProducer = require('ali-ons/lib/producer/mq_producer');
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
const MessageDecoder = require('ali-ons/lib/message/message_decoder');
const ByteBuffer = require('byte');
const { BROKER, quietLogger, sleep, waitFor, withTimeout, startBroker, stopBroker } = require('./harness');

const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
const MESSAGES = 1000;
const QUERY_MESSAGE = 12;
const VIEW_MESSAGE_BY_ID = 33;

const noHttp = { request() { throw new Error('no http in tests'); } };

function newProducer(nameSrv, group) {
  return new Producer({ nameSrv, httpclient: noHttp, producerGroup: group, logger: quietLogger,
    instanceName: `P${group}` });
}

// A push consumer that records every delivery. Each gets its own instance name, as a restarted process
// would (ali-ons otherwise derives the client id from the pid and reuses the old client instance).
let consumerSeq = 0;
function newConsumer(nameSrv, group, topic, tag) {
  const consumer = new Consumer({
    nameSrv, httpclient: noHttp, consumerGroup: group, logger: quietLogger, instanceName: `C${++consumerSeq}`,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', persistConsumerOffsetInterval: 1000,
  });
  const deliveries = [];
  consumer.subscribe(topic, tag, async msg => { deliveries.push(msg); });
  consumer.on('error', () => {});
  return { consumer, deliveries };
}

async function sendAll(producer, messages, concurrency) {
  const results = new Array(messages.length);
  let next = 0;
  async function worker() {
    while (next < messages.length) {
      const i = next++;
      results[i] = await producer.send(messages[i]);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

// ali-ons has no TBW102 fallback (a route miss is an error), so topics are created first with
// UPDATE_AND_CREATE_TOPIC through its own transport, as its users do.
async function createTopic(nameSrv, brokerAddr, topic) {
  const api = new MQClientAPI({ nameSrv, httpclient: noHttp, logger: quietLogger });
  await api.ready();
  try {
    await api.createTopic(brokerAddr, 'TBW102', {
      topicName: topic, readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG',
      topicSysFlag: 0, order: false,
    }, 5000);
  } finally {
    await withTimeout(api.close(), 5000, 'api close').catch(() => {});
  }
}

// ali-ons keeps a process-wide inner producer (and its client's timers) alive after every producer and
// consumer closed; close it once all tests are done, and do not let a reconnect loop hold the process.
test.after(async () => {
  if (MQProducer.defaultProducer) {
    await withTimeout(MQProducer.defaultProducer.close(), 5000, 'inner producer close').catch(() => {});
  }
  setTimeout(() => process.exit(), 3000).unref();
});

function decodeRecords(body) {
  return MessageDecoder.decodes(ByteBuffer.wrap(body));
}

test('ali-ons against thruster-broker', { skip: !BROKER && 'THRUSTER_BROKER is not set' }, async t => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-e2e-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const broker = await startBroker({ storeDir: path.join(tmp, 'store') });
  t.after(() => stopBroker(broker));
  const nameSrv = `127.0.0.1:${broker.namesrvPort}`;
  const topic = `E2E_${RUN_ID}`;
  await createTopic(nameSrv, broker.addr, topic);
  await sleep(300);  // the broker re-registers with its name server right after a topic change
  const producer = newProducer(nameSrv, `PG_${RUN_ID}`);
  await producer.ready();
  t.after(() => withTimeout(producer.close(), 5000, 'producer close').catch(() => {}));

  const sent = new Map();  // key → { tag, body, result }
  const tagCount = { TagA: 0, TagB: 0 };

  await t.test('produce 1000 keyed, tagged messages', async () => {
    const messages = [];
    for (let i = 0; i < MESSAGES; i++) {
      const tag = i % 3 === 0 ? 'TagA' : 'TagB';
      const msg = new Message(topic, tag, `body-${i}-${'x'.repeat(i % 50)}`);
      msg.keys = [ `key-${RUN_ID}-${i}` ];
      messages.push(msg);
    }
    const results = await sendAll(producer, messages, 8);
    const offsetsByQueue = new Map();
    const msgIds = new Set();
    results.forEach((r, i) => {
      assert.equal(r.sendStatus, 'SEND_OK', `send ${i}`);
      assert.match(r.msgId, /^[0-9A-F]{32}$/);
      assert.equal(MessageDecoder.decodeMessageId(r.msgId).address, broker.addr);
      assert.equal(r.messageQueue.topic, topic);
      const queueId = Number(r.messageQueue.queueId);
      assert.ok(queueId >= 0 && queueId < 4, `queue ${queueId}`);
      assert.ok(Number.isInteger(r.queueOffset) && r.queueOffset >= 0);
      msgIds.add(r.msgId);
      const q = offsetsByQueue.get(queueId) || [];
      q.push(r.queueOffset);
      offsetsByQueue.set(queueId, q);
      const key = messages[i].keys;
      sent.set(key, { tag: messages[i].tags, body: messages[i].body.toString(), result: r });
      tagCount[messages[i].tags]++;
    });
    assert.equal(msgIds.size, MESSAGES, 'every msgId is distinct');
    // Each queue's offsets are exactly 0..n-1.
    for (const [ queueId, offsets ] of offsetsByQueue) {
      offsets.sort((a, b) => a - b);
      offsets.forEach((o, idx) => assert.equal(o, idx, `queue ${queueId} offsets are dense`));
    }
  });

  const group = `CG_${RUN_ID}`;
  await t.test('a consumer group receives every message exactly as sent', async () => {
    const { consumer, deliveries } = newConsumer(nameSrv, group, topic, '*');
    await consumer.ready();
    await waitFor(() => deliveries.length >= MESSAGES, 60000, `${MESSAGES} deliveries (have ${deliveries.length})`);
    await sleep(500);
    const seen = new Set();
    for (const msg of deliveries) {
      const key = msg.keys;
      assert.ok(!seen.has(key), `${key} delivered twice`);
      seen.add(key);
      const expected = sent.get(key);
      assert.ok(expected, `unexpected key ${key}`);
      assert.equal(msg.topic, topic);
      assert.equal(msg.tags, expected.tag);
      assert.equal(msg.body.toString(), expected.body);
      assert.equal(msg.msgId, expected.result.msgId);
      assert.equal(msg.queueId, Number(expected.result.messageQueue.queueId));
      assert.equal(Number(msg.queueOffset), expected.result.queueOffset);
    }
    assert.equal(seen.size, MESSAGES);
    await withTimeout(consumer.close(), 10000, 'consumer close');
  });

  await t.test('a restarted consumer in the same group gets nothing twice', async () => {
    const { consumer, deliveries } = newConsumer(nameSrv, group, topic, '*');
    await consumer.ready();
    const fresh = [];
    for (let i = 0; i < 10; i++) {
      const msg = new Message(topic, 'TagA', `after-restart-${i}`);
      msg.keys = [ `late-${RUN_ID}-${i}` ];
      fresh.push(msg);
      tagCount.TagA++;
    }
    await sendAll(producer, fresh, 2);
    await waitFor(() => deliveries.length >= fresh.length, 30000, 'the new messages');
    await sleep(2000);  // room for any (wrong) redelivery of old messages
    const keys = deliveries.map(m => m.keys).sort();
    assert.deepEqual(keys, fresh.map(m => m.keys).sort());
    await withTimeout(consumer.close(), 10000, 'consumer close');
  });

  await t.test('a subscription to one tag gets only that tag', async () => {
    const { consumer, deliveries } = newConsumer(nameSrv, `CGTAG_${RUN_ID}`, topic, 'TagA');
    await consumer.ready();
    await waitFor(() => deliveries.length >= tagCount.TagA, 60000,
      `${tagCount.TagA} TagA deliveries (have ${deliveries.length})`);
    await sleep(1000);
    assert.equal(deliveries.length, tagCount.TagA);
    for (const msg of deliveries) assert.equal(msg.tags, 'TagA');
    await withTimeout(consumer.close(), 10000, 'consumer close');
  });

  await t.test('query by key and view by msgId return the message', async () => {
    const api = new MQClientAPI({ nameSrv, httpclient: noHttp, logger: quietLogger });
    await api.ready();
    try {
      const key = `key-${RUN_ID}-7`;
      const query = RemotingCommand.createRequestCommand(QUERY_MESSAGE, {
        topic, key, maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 60000,
      });
      const qr = await api.invoke(broker.addr, query, 5000);
      assert.equal(qr.code, 0, qr.remark);
      const found = decodeRecords(qr.body).filter(m => m.keys.split(" ").includes(key));
      assert.equal(found.length, 1);
      assert.equal(found[0].body.toString(), sent.get(key).body);
      assert.equal(found[0].msgId, sent.get(key).result.msgId);

      const missing = RemotingCommand.createRequestCommand(QUERY_MESSAGE, {
        topic, key: 'no-such-key', maxNum: 32, beginTimestamp: 0, endTimestamp: Date.now() + 60000,
      });
      assert.equal((await api.invoke(broker.addr, missing, 5000)).code, 22);

      const target = sent.get(`key-${RUN_ID}-123`);
      const { address, offset } = MessageDecoder.decodeMessageId(target.result.msgId);
      assert.equal(address, broker.addr);
      const view = RemotingCommand.createRequestCommand(VIEW_MESSAGE_BY_ID, { offset: offset.toString() });
      const vr = await api.invoke(address, view, 5000);
      assert.equal(vr.code, 0, vr.remark);
      const [ viewed ] = decodeRecords(vr.body);
      assert.equal(viewed.body.toString(), target.body);
      assert.equal(viewed.tags, target.tag);
      assert.equal(viewed.keys, `key-${RUN_ID}-123`);
    } finally {
      await withTimeout(api.close(), 5000, 'api close').catch(() => {});
    }
  });
});

test('kill -9 during a SYNC_FLUSH produce run loses no acknowledged message',
  { skip: !BROKER && 'THRUSTER_BROKER is not set' }, async t => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-e2e-crash-'));
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const storeDir = path.join(tmp, 'store');
    const extra = [ '--flushDiskType=SYNC_FLUSH' ];
    const first = await startBroker({ storeDir, extra });
    await waitFor(() => first.haPort(), 10000, 'the HA port in the broker log');
    const haListenPort = first.haPort();
    const nameSrv = `127.0.0.1:${first.namesrvPort}`;
    const topic = `CRASH_${RUN_ID}`;
    await createTopic(nameSrv, first.addr, topic);
    await sleep(300);
    const producer = newProducer(nameSrv, `PGC_${RUN_ID}`);
    await producer.ready();

    const acked = new Map();  // key → body
    let stop = false;
    let n = 0;
    async function worker() {
      while (!stop) {
        const i = n++;
        const msg = new Message(topic, 'TagC', `crash-${i}`);
        msg.keys = [ `crash-${RUN_ID}-${i}` ];
        try {
          const r = await producer.send(msg);
          if (r.sendStatus === 'SEND_OK') acked.set(msg.keys, `crash-${i}`);
        } catch (err) {
          if (!stop) await sleep(20);
        }
      }
    }
    const workers = Array.from({ length: 8 }, worker);
    await waitFor(() => acked.size >= 300, 60000, '300 acknowledged sends');
    // Kill while sends are in flight: the workers keep sending until the broker is gone.
    first.child.kill('SIGKILL');
    await new Promise(resolve => first.child.on('exit', resolve));
    stop = true;
    await Promise.all(workers);
    await withTimeout(producer.close(), 5000, 'producer close').catch(() => {});
    const ackedCount = acked.size;

    const second = await startBroker({ storeDir, listenPort: first.port, namesrvPort: first.namesrvPort, haListenPort, extra });
    t.after(() => stopBroker(second));
    const { consumer, deliveries } = newConsumer(nameSrv, `CGC_${RUN_ID}`, topic, '*');
    await consumer.ready();
    await waitFor(() => {
      const keys = new Set(deliveries.map(m => m.keys));
      for (const k of acked.keys()) if (!keys.has(k)) return false;
      return true;
    }, 60000, `all ${ackedCount} acknowledged messages after the restart`);
    await sleep(1000);
    const seen = new Set();
    for (const msg of deliveries) {
      const key = msg.keys;
      assert.ok(!seen.has(key), `${key} delivered twice in one run`);
      seen.add(key);
      if (acked.has(key)) assert.equal(msg.body.toString(), acked.get(key));
    }
    await withTimeout(consumer.close(), 10000, 'consumer close');
    assert.equal(await stopBroker(second), 0, 'clean shutdown after recovery');
  });

// Delay levels and consumer retries with short levels, so the test runs in seconds: level 2 is 2 s, every
// other level 1 s (a retry uses level 3 + reconsumeTimes).
test('delay levels, retries through a failing listener and sharding-key sends',
  { skip: !BROKER && 'THRUSTER_BROKER is not set' }, async t => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-e2e-delay-'));
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const levels = [ '1s', '2s', ...Array(16).fill('1s') ].join(' ');
    const broker = await startBroker({ storeDir: path.join(tmp, 'store'), extra: [ `--messageDelayLevel=${levels}` ] });
    t.after(() => stopBroker(broker));
    const nameSrv = `127.0.0.1:${broker.namesrvPort}`;
    const producer = newProducer(nameSrv, `PGD_${RUN_ID}`);
    await producer.ready();
    t.after(() => withTimeout(producer.close(), 5000, 'producer close').catch(() => {}));

    await t.test('a level-2 message arrives after 2 s and not before', async () => {
      const topic = `DELAY_${RUN_ID}`;
      await createTopic(nameSrv, broker.addr, topic);
      await sleep(300);
      const consumer = new Consumer({
        nameSrv, httpclient: noHttp, consumerGroup: `CGD_${RUN_ID}`, logger: quietLogger,
        instanceName: `C${++consumerSeq}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      });
      consumer.on('error', () => {});
      const deliveries = [];
      const arrivals = [];
      consumer.subscribe(topic, '*', async m => { arrivals.push(Date.now()); deliveries.push(m); });
      await consumer.ready();
      const msg = new Message(topic, 'TagD', 'later');
      msg.delayTimeLevel = 2;
      const sentAt = Date.now();
      const r = await producer.send(msg);
      assert.equal(r.sendStatus, 'SEND_OK');
      await waitFor(() => deliveries.length > 0, 15000, 'the delayed message');
      const [ got ] = deliveries;
      assert.equal(got.body.toString(), 'later');
      assert.equal(got.topic, topic);
      assert.equal(got.tags, 'TagD');
      // The delivered record is a new one (its own offset id) that keeps the parked properties.
      assert.equal(got.properties.REAL_TOPIC, topic);
      assert.equal(got.properties.DELAY, '2');
      assert.ok(arrivals[0] - sentAt >= 2000, `arrived ${arrivals[0] - sentAt} ms after the send`);
      assert.ok(got.storeTimestamp - got.bornTimestamp >= 2000, 'stored in the topic once due');
      await withTimeout(consumer.close(), 10000, 'consumer close');
    });

    await t.test('a failing listener sees the message again with reconsumeTimes incremented', async () => {
      const topic = `RETRY_${RUN_ID}`;
      const group = `CGR_${RUN_ID}`;
      await createTopic(nameSrv, broker.addr, topic);
      await createTopic(nameSrv, broker.addr, `%RETRY%${group}`);
      await sleep(300);
      const consumer = new Consumer({
        nameSrv, httpclient: noHttp, consumerGroup: group, logger: quietLogger, instanceName: `C${++consumerSeq}`,
        consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', persistConsumerOffsetInterval: 1000,
      });
      consumer.on('error', () => {});
      const seen = [];
      consumer.subscribe(topic, '*', async msg => {
        seen.push({ reconsumeTimes: msg.reconsumeTimes, at: Date.now(), body: msg.body.toString() });
        if (seen.length < 3) throw new Error('failing on purpose');
      });
      await consumer.ready();
      const r = await producer.send(new Message(topic, 'TagR', 'flaky'));
      assert.equal(r.sendStatus, 'SEND_OK');
      await waitFor(() => seen.length >= 3, 30000, `three deliveries (have ${seen.length})`);
      assert.deepEqual(seen.map(s => s.reconsumeTimes), [ 0, 1, 2 ]);
      for (const s of seen) assert.equal(s.body, 'flaky');
      // Each retry waited out its back-off level (1 s here).
      assert.ok(seen[1].at - seen[0].at >= 900, `first retry after ${seen[1].at - seen[0].at} ms`);
      assert.ok(seen[2].at - seen[1].at >= 900, `second retry after ${seen[2].at - seen[1].at} ms`);
      await sleep(1500);
      assert.equal(seen.length, 3, 'a consumed retry is not delivered again');
      await withTimeout(consumer.close(), 10000, 'consumer close');
    });

    await t.test('messages with one sharding key go to one queue, in order', async () => {
      const topic = `ORDER_${RUN_ID}`;
      await createTopic(nameSrv, broker.addr, topic);
      await sleep(300);
      // ali-ons hashes the key (md5 % queues) but treats queue id 0 as "no queue chosen" and then
      // round-robins, so take a key that hashes to another queue.
      const crypto = require('node:crypto');
      let key = 0;
      while (crypto.createHash('md5').update(`order-${key}`).digest().readUInt32BE() % 4 === 0) key++;
      const results = [];
      for (let i = 0; i < 20; i++) {
        const msg = new Message(topic, 'TagO', `order-${i}`);
        msg.shardingKey = `order-${key}`;
        results.push(await producer.send(msg));
      }
      const queues = new Set(results.map(r => Number(r.messageQueue.queueId)));
      assert.equal(queues.size, 1, 'one queue for one sharding key');
      results.forEach((r, i) => assert.equal(r.queueOffset, results[0].queueOffset + i));
      const { consumer, deliveries } = newConsumer(nameSrv, `CGO_${RUN_ID}`, topic, '*');
      await consumer.ready();
      await waitFor(() => deliveries.length >= 20, 30000, `20 ordered deliveries (have ${deliveries.length})`);
      assert.deepEqual(deliveries.map(m => m.body.toString()), results.map((_, i) => `order-${i}`));
      await withTimeout(consumer.close(), 10000, 'consumer close');
    });
  });
