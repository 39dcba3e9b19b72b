'use strict';

// End-to-end tests of thruster-broker's 5.x gRPC endpoint (apache.rocketmq.v2) with the real Node.js 5.x
// client, rocketmq-client-nodejs. Run by tests/e2e/run_e2e.sh (CTest `e2e_grpc`) with THRUSTER_BROKER set:
//   THRUSTER_BROKER=build/asan/apps/thruster-broker node --test tests/e2e/grpc.test.js
// One broker (free ports, fresh temp store) serves every test; each test uses its own topics and groups.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Producer, SimpleConsumer } = require('rocketmq-client-nodejs');
const { TransactionResolution } = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb');

const BROKER = process.env.THRUSTER_BROKER;
const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
const quietLogger = { info() {}, warn() {}, debug() {}, error() {}, close() {} };

// Starts thruster-broker with the gRPC endpoint; resolves once it printed its ports.
function startBroker(storeDir, extra = []) {
  const args = [
    `--storePathRootDir=${storeDir}`,
    '--listenPort=0',
    '--namesrvListenPort=0',
    '--bindAddress=127.0.0.1',
    '--brokerIP1=127.0.0.1',
    '--enableGrpcServer=true',
    '--grpcServerPort=0',
    '--mappedFileSizeCommitLog=16777216',
    '--mappedFileSizeConsumeQueue=60000',
    '--maxHashSlotNum=5000',
    '--maxIndexNum=20000',
    '--logTarget=stderr',
    ...extra,
  ];
  const child = spawn(BROKER, args, { stdio: [ 'ignore', 'pipe', 'pipe' ] });
  let log = '';
  child.stderr.on('data', d => { log += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start:\n${out}${log}`)), 30000);
    child.on('exit', code => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}:\n${out}${log}`));
    });
    child.stdout.on('data', d => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+).*gRPC on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, port: Number(m[1]), endpoints: `127.0.0.1:${m[2]}`, log: () => log });
      }
    });
  });
}

function stopBroker(broker) {
  return new Promise(resolve => {
    if (broker.child.exitCode !== null || broker.child.signalCode !== null) return resolve(broker.child.exitCode);
    broker.child.on('exit', code => resolve(code));
    broker.child.kill('SIGTERM');
  });
}

let broker;
let storeDir;

test.before(async () => {
  assert.ok(BROKER, 'THRUSTER_BROKER must name the thruster-broker binary');
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-grpc-e2e-'));
  // Transaction checks start 1 s after a half message is written and run every second, so the orphaned
  // transaction test takes seconds, not a minute.
  broker = await startBroker(storeDir, [ '--transactionTimeOut=1000', '--transactionCheckInterval=1000' ]);
});

test.after(async () => {
  if (broker) assert.equal(await stopBroker(broker), 0, `broker did not stop cleanly:\n${broker.log()}`);
  fs.rmSync(storeDir, { recursive: true, force: true });
});

async function newProducer(topics, checker) {
  const producer = new Producer({ endpoints: broker.endpoints, topics, logger: quietLogger, checker });
  await producer.startup();
  return producer;
}

async function newConsumer(group, subscriptions) {
  const consumer = new SimpleConsumer({
    endpoints: broker.endpoints, consumerGroup: group, subscriptions, logger: quietLogger,
    awaitDuration: 5000,
  });
  await consumer.startup();
  return consumer;
}

// Receives until `until(all received so far)` holds or the deadline passes; returns what came.
async function receiveUntil(consumer, until, timeoutMs, invisibleMs = 15000) {
  const got = [];
  const deadline = Date.now() + timeoutMs;
  while (!until(got)) {
    if (Date.now() > deadline) break;
    const batch = await consumer.receive(32, invisibleMs);
    got.push(...batch);
  }
  return got;
}

test('a producer sends over gRPC; a SimpleConsumer receives its tag and acks; a restarted group gets nothing acked',
  async () => {
    const topic = `GrpcNormal${RUN_ID}`;
    const group = `GrpcGroupA${RUN_ID}`;
    const producer = await newProducer([ topic ]);
    const sent = new Map();
    for (let i = 0; i < 10; i++) {
      const receipt = await producer.send({
        topic, tag: i % 2 === 0 ? 'TagA' : 'TagB', keys: [ `key-${i}` ],
        properties: new Map([ [ 'seq', String(i) ] ]), body: Buffer.from(`normal-${i}`),
      });
      assert.ok(receipt.messageId, 'a send receipt names the message id');
      sent.set(receipt.messageId, i);
    }
    await producer.shutdown();

    const consumer = await newConsumer(group, new Map([ [ topic, 'TagA' ] ]));
    const got = await receiveUntil(consumer, g => g.length >= 5, 30000);
    assert.equal(got.length, 5, 'the five TagA messages, and no TagB one');
    for (const m of got) {
      assert.equal(m.tag, 'TagA');
      assert.notEqual(m.corrupted, true, 'the body digest matches');
      const i = sent.get(m.messageId);
      assert.ok(i !== undefined, `message id ${m.messageId} was sent`);
      assert.equal(m.body.toString(), `normal-${i}`);
      assert.deepEqual(m.keys, [ `key-${i}` ]);
      assert.equal(m.properties.get('seq'), String(i));
      assert.equal(m.deliveryAttempt, 1);
      await consumer.ack(m);
    }
    await consumer.shutdown();

    // The same group again: everything it acked stays acked, and the other tag is not handed out.
    const again = await newConsumer(group, new Map([ [ topic, 'TagA' ] ]));
    const more = await again.receive(32, 15000);
    assert.deepEqual(more.map(m => m.messageId), [], 'nothing acked comes back');
    await again.shutdown();
  });

test('an un-acked message comes back after its invisible time; a changed invisible duration is honoured',
  async () => {
    const topic = `GrpcInvisible${RUN_ID}`;
    const group = `GrpcGroupB${RUN_ID}`;
    const producer = await newProducer([ topic ]);
    const a = await producer.send({ topic, body: Buffer.from('left alone') });
    const b = await producer.send({ topic, body: Buffer.from('made visible early') });
    await producer.shutdown();

    const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
    const first = await receiveUntil(consumer, g => g.length >= 2, 20000, 10000);
    assert.deepEqual(first.map(m => m.messageId).sort(), [ a.messageId, b.messageId ].sort());
    const poppedAt = Date.now();
    const early = first.find(m => m.messageId === b.messageId);
    const oldHandle = early.receiptHandle;
    await consumer.changeInvisibleDuration(early, 1000);
    assert.notEqual(early.receiptHandle, oldHandle, 'a change hands out a new receipt handle');

    // b returns after about a second, a after its 10 s; neither is acked before.
    const seen = new Map();
    const deadline = Date.now() + 30000;
    while (!(seen.has(a.messageId) && seen.has(b.messageId)) && Date.now() < deadline) {
      for (const m of await consumer.receive(32, 10000)) {
        if (seen.has(m.messageId)) continue;
        seen.set(m.messageId, { at: Date.now(), m });
        assert.equal(m.deliveryAttempt, 2, 'a redelivery counts its attempt');
        await consumer.ack(m);
      }
    }
    assert.ok(seen.has(b.messageId), 'the message with a changed invisible duration came back');
    assert.ok(seen.has(a.messageId), 'the un-acked message came back');
    assert.ok(seen.get(a.messageId).at - poppedAt >= 9000,
      `the un-acked message stayed invisible for its 10 s (back after ${seen.get(a.messageId).at - poppedAt} ms)`);
    assert.ok(seen.get(b.messageId).at < seen.get(a.messageId).at, 'the 1 s message came back first');
    // The first handle of a expired with its invisible time: acking it is refused, cleanly.
    const stale = first.find(m => m.messageId === a.messageId);
    await assert.rejects(consumer.ack(stale), /expired/);
    await consumer.shutdown();
  });

test('FIFO: messages of one message group arrive in the order they were sent, from one queue', async () => {
  const topic = `GrpcFifo${RUN_ID}`;
  const group = `GrpcGroupC${RUN_ID}`;
  const producer = await newProducer([ topic ]);
  const groups = [ 'order-1', 'order-2', 'order-3' ];
  for (let i = 0; i < 6; i++) {
    for (const g of groups) {
      await producer.send({ topic, messageGroup: g, body: Buffer.from(`${g}:${i}`) });
    }
  }
  await producer.shutdown();
  const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
  const got = await receiveUntil(consumer, g => g.length >= 18, 30000);
  assert.equal(got.length, 18);
  for (const g of groups) {
    const mine = got.filter(m => m.messageGroup === g);
    assert.deepEqual(mine.map(m => m.body.toString()), [ 0, 1, 2, 3, 4, 5 ].map(i => `${g}:${i}`));
  }
  for (const m of got) await consumer.ack(m);
  await consumer.shutdown();
});

test('a delayed message is delivered at its delivery timestamp, not before', async () => {
  const topic = `GrpcDelay${RUN_ID}`;
  const group = `GrpcGroupD${RUN_ID}`;
  const producer = await newProducer([ topic ]);
  const at = new Date(Date.now() + 3000);
  const receipt = await producer.send({ topic, deliveryTimestamp: at, body: Buffer.from('later') });
  await producer.shutdown();
  const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
  const got = await receiveUntil(consumer, g => g.length >= 1, 20000);
  const receivedAt = Date.now();
  assert.equal(got.length, 1);
  assert.equal(got[0].messageId, receipt.messageId);
  assert.ok(receivedAt >= at.getTime() - 50, `delivered ${at.getTime() - receivedAt} ms before its time`);
  assert.equal(got[0].deliveryTimestamp.getTime(), at.getTime(), 'the delivery timestamp travels with it');
  await consumer.ack(got[0]);
  await consumer.shutdown();
});

test('transactions: commit delivers, rollback does not, an orphaned one is resolved by the check-back', async () => {
  const topic = `GrpcTx${RUN_ID}`;
  const group = `GrpcGroupE${RUN_ID}`;
  const checked = [];
  const producer = await newProducer([ topic ], {
    async check(messageView) {
      checked.push(messageView.messageId);
      return TransactionResolution.COMMIT;
    },
  });
  const commitTx = producer.beginTransaction();
  const committed = await producer.send({ topic, body: Buffer.from('committed') }, commitTx);
  await commitTx.commit();
  const rollbackTx = producer.beginTransaction();
  const rolledBack = await producer.send({ topic, body: Buffer.from('rolled back') }, rollbackTx);
  await rollbackTx.rollback();
  // Neither committed nor rolled back: the broker asks the producer (over its Telemetry stream).
  const orphanTx = producer.beginTransaction();
  const orphan = await producer.send({ topic, body: Buffer.from('orphan') }, orphanTx);

  const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
  const got = await receiveUntil(consumer, g => g.length >= 2, 30000);
  const ids = got.map(m => m.messageId).sort();
  assert.deepEqual(ids, [ committed.messageId, orphan.messageId ].sort());
  assert.ok(!ids.includes(rolledBack.messageId));
  assert.ok(checked.includes(orphan.messageId), 'the checker was asked about the orphaned message');
  assert.ok(!checked.includes(committed.messageId));
  for (const m of got) await consumer.ack(m);
  await consumer.shutdown();
  await producer.shutdown();
});

test('the gRPC endpoint refuses to start beside aclEnable, which it does not check yet', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-grpc-acl-'));
  try {
    const aclFile = path.join(dir, 'plain_acl.yml');
    fs.writeFileSync(aclFile, [ 'accounts:', '  - accessKey: GrpcAdmin01', '    secretKey: grpc-secret-1',
      '    admin: true', '' ].join('\n'));
    await assert.rejects(startBroker(path.join(dir, 'store'), [ '--aclEnable=true', `--aclFile=${aclFile}` ]),
      /exited with 1[\s\S]*does not check ACL/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
