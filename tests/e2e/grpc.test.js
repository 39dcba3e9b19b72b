'use strict';

// End-to-end tests of thruster-broker's 5.x gRPC endpoint (apache.rocketmq.v2) with the real Node.js 5.x
// client, rocketmq-client-nodejs. Run by tests/e2e/run_e2e.sh (CTest `e2e_grpc`) with THRUSTER_BROKER set:
//   THRUSTER_BROKER=build/asan/apps/thruster-broker node --test tests/e2e/grpc.test.js
// One broker (free ports, fresh temp store) serves every test; each test uses its own topics and groups.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Producer, SimpleConsumer } = require('rocketmq-client-nodejs');
const { RpcClient } = require('rocketmq-client-nodejs/dist/client/RpcClient');
const { Endpoints } = require('rocketmq-client-nodejs/dist/route/Endpoints');
const pb = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_pb');
const def = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb');
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb');
const { Duration } = require('google-protobuf/google/protobuf/duration_pb');
const { BROKER, quietLogger, startBroker, stopBroker, waitFor } = require('./harness');
const { TransactionResolution } = def;

const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
// A group with consumeMessageOrderly, written into the broker's subscriptionGroup.json before it starts (as an
// operator's mqadmin updateSubGroup -o true would leave it): its 5.x clients pop orderly.
const ORDERLY_GROUP = `GrpcOrderly${RUN_ID}`;

let broker;
let storeDir;

test.before(async () => {
  assert.ok(BROKER, 'THRUSTER_BROKER must name the thruster-broker binary');
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-grpc-e2e-'));
  fs.mkdirSync(path.join(storeDir, 'config'));
  fs.writeFileSync(path.join(storeDir, 'config', 'subscriptionGroup.json'), JSON.stringify({
    subscriptionGroupTable: { [ORDERLY_GROUP]: { groupName: ORDERLY_GROUP, consumeMessageOrderly: true } },
  }));
  // Transaction checks start 1 s after a half message is written and run every second, so the orphaned
  // transaction test takes seconds, not a minute.
  broker = await startBroker({ storeDir, extra: [ '--enableGrpcServer=true', '--grpcServerPort=0',
    '--transactionTimeOut=1000', '--transactionCheckInterval=1000', '--recallMessageEnable=true' ] });
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

// The client's own transport (RpcClient) for the RPCs its Producer and SimpleConsumer do not call; `client` lends
// its request metadata (client id, date, signature).
function rpcOf(client) {
  const rpc = new RpcClient(new Endpoints(broker.endpoints), false);
  return {
    call: (name, request, timeoutMs = 5000) => rpc[name](request, client.getRequestMetadata(), timeoutMs),
    close: () => rpc.close(),
  };
}

function resource(name) {
  return new def.Resource().setName(name);
}

function queueOf(topic, id) {
  return new def.MessageQueue().setTopic(resource(topic)).setId(id);
}

// The proxy's queue for a message group (spec/pop.md §9.4): Guava's jump hash of the group's Java hashCode.
function fifoQueueOf(messageGroup, queues) {
  let h = 0;
  for (const c of messageGroup) h = (Math.imul(31, h) + c.charCodeAt(0)) | 0;
  let state = BigInt.asUintN(64, BigInt(h));
  let candidate = 0;
  for (;;) {
    state = BigInt.asUintN(64, 2862933555777941757n * state + 1n);
    const next = (candidate + 1) / ((Number(state >> 33n) + 1) / 2147483648);
    if (!(next >= 0 && next < queues)) return candidate;
    candidate = Math.floor(next);
  }
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

test('a recalled delayed message is never delivered, the one sent beside it is', async () => {
  const topic = `GrpcRecall${RUN_ID}`;
  const group = `GrpcGroupR${RUN_ID}`;
  const producer = await newProducer([ topic ]);
  const at = new Date(Date.now() + 3000);
  const recalled = await producer.send({ topic, deliveryTimestamp: at, body: Buffer.from('recalled') });
  const kept = await producer.send({ topic, deliveryTimestamp: at, body: Buffer.from('kept') });
  // Due one slot later: once a receive has it, the recalled one (due first) would have been found too (a
  // receive reads every queue).
  const later = await producer.send({ topic, deliveryTimestamp: new Date(at.getTime() + 1000),
    body: Buffer.from('later') });
  assert.ok(recalled.recallHandle, 'the send receipt carries a recall handle');
  const receipt = await producer.recallMessage(topic, recalled.recallHandle);
  assert.equal(receipt.messageId, recalled.messageId);
  // The broker's ILLEGAL_OPERATION, reported as RocketMQ's proxy reports it.
  await assert.rejects(producer.recallMessage(topic, 'not-a-handle'),
    new RegExp(`recall handle is invalid.*code: ${def.Code.INTERNAL_SERVER_ERROR}`));
  await producer.shutdown();

  const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
  const got = await receiveUntil(consumer, g => g.some(m => m.messageId === later.messageId), 20000);
  assert.deepEqual(got.map(m => m.body.toString()).sort(), [ 'kept', 'later' ]);
  assert.ok(got.some(m => m.messageId === kept.messageId));
  for (const m of got) await consumer.ack(m);
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

test('FIFO group: one message group in flight per queue, in order; an un-acked message blocks its own group only',
  async () => {
    const topic = `GrpcOrderlyTopic${RUN_ID}`;
    // Three message groups on three different queues of the topic's four.
    const groups = [];
    const used = new Set();
    for (let i = 0; groups.length < 3; i++) {
      const q = fifoQueueOf(`fifo-${i}`, 4);
      if (!used.has(q)) {
        used.add(q);
        groups.push(`fifo-${i}`);
      }
    }
    const [ held, ...free ] = groups;
    const producer = await newProducer([ topic ]);
    const sendRound = async (from, to) => {
      for (let i = from; i < to; i++) {
        for (const g of groups) await producer.send({ topic, messageGroup: g, body: Buffer.from(`${g}:${i}`) });
      }
    };
    const bodiesOf = (got, g) => got.filter(m => m.messageGroup === g).map(m => m.body.toString());
    const range = (g, from, to) => Array.from({ length: to - from }, (_, k) => `${g}:${from + k}`);
    await sendRound(0, 4);

    const consumer = await newConsumer(ORDERLY_GROUP, new Map([ [ topic, '*' ] ]));
    // Received messages stay invisible for 60 s: longer than both loops below may take on a loaded machine (each
    // empty receive long-polls 5 s), so nothing comes back to them before it is acked or let go on purpose.
    const first = await receiveUntil(consumer, g => g.length >= 12, 30000, 60000);
    for (const g of groups) assert.deepEqual(bodiesOf(first, g), range(g, 0, 4), `${g} in send order`);
    // The free groups are acked; the held group's four stay in flight.
    for (const m of first) if (m.messageGroup !== held) await consumer.ack(m);

    await sendRound(4, 6);
    const second = await receiveUntil(consumer, g => g.length >= 4, 30000, 60000);
    for (const g of free) assert.deepEqual(bodiesOf(second, g), range(g, 4, 6), `${g} goes on`);
    assert.deepEqual(bodiesOf(second, held), [], 'the held group waits behind its un-acked messages');
    for (const m of second) await consumer.ack(m);

    // The held group's messages are let go (visible again in 1 s): they come back first, in order, then its new ones.
    const inFlight = first.filter(m => m.messageGroup === held);
    for (const m of inFlight) await consumer.changeInvisibleDuration(m, 1000);
    const third = await receiveUntil(consumer, g => g.length >= 6, 30000);
    assert.deepEqual(bodiesOf(third, held), range(held, 0, 6), 'redelivered in order, then the rest');
    assert.deepEqual(third.map(m => m.deliveryAttempt), [ 2, 2, 2, 2, 1, 1 ], 'the redelivered four count a second attempt');
    for (const m of third) await consumer.ack(m);
    await consumer.shutdown();
    await producer.shutdown();
  });

test('PullMessage, QueryOffset, GetOffset and UpdateOffset over one queue', async () => {
  const topic = `GrpcPull${RUN_ID}`;
  const group = `GrpcGroupPull${RUN_ID}`;
  const producer = await newProducer([ topic ]);
  const sentAt = Date.now();
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await producer.send({ topic, tag: i === 2 ? 'Other' : 'Mine', messageGroup: 'pull-group',
      body: Buffer.from(`pull-${i}`) })).messageId);
  }
  const rpc = rpcOf(producer);
  try {
    const q = fifoQueueOf('pull-group', 4);
    const queryOffset = async (policy, at) => {
      const req = new pb.QueryOffsetRequest().setMessageQueue(queueOf(topic, q)).setQueryOffsetPolicy(policy);
      if (at !== undefined) req.setTimestamp(Timestamp.fromDate(new Date(at)));
      const resp = await rpc.call('queryOffset', req);
      assert.equal(resp.getStatus().getCode(), def.Code.OK, resp.getStatus().getMessage());
      return resp.getOffset();
    };
    assert.equal(await queryOffset(def.QueryOffsetPolicy.BEGINNING), 0);
    assert.equal(await queryOffset(def.QueryOffsetPolicy.END), 5);
    assert.equal(await queryOffset(def.QueryOffsetPolicy.TIMESTAMP, sentAt - 60000), 0);

    const pull = async (offset, expression = '*') => {
      const req = new pb.PullMessageRequest().setGroup(resource(group)).setMessageQueue(queueOf(topic, q))
        .setOffset(offset).setBatchSize(32)
        .setFilterExpression(new def.FilterExpression().setType(def.FilterType.TAG).setExpression(expression))
        .setLongPollingTimeout(new Duration().setSeconds(0));
      const out = { messages: [] };
      for (const r of await rpc.call('pullMessage', req)) {
        if (r.hasStatus()) out.status = r.getStatus().getCode();
        if (r.hasMessage()) out.messages.push(r.getMessage());
        if (r.getContentCase() === pb.PullMessageResponse.ContentCase.NEXT_OFFSET) out.next = r.getNextOffset();
      }
      return out;
    };
    const all = await pull(0);
    assert.equal(all.status, def.Code.OK);
    assert.deepEqual(all.messages.map(m => Buffer.from(m.getBody()).toString()), [ 0, 1, 2, 3, 4 ].map(i => `pull-${i}`));
    assert.deepEqual(all.messages.map(m => m.getSystemProperties().getMessageId()), ids);
    assert.deepEqual(all.messages.map(m => m.getSystemProperties().getQueueOffset()), [ 0, 1, 2, 3, 4 ]);
    assert.equal(all.next, 5);
    const tagged = await pull(1, 'Mine');
    assert.deepEqual(tagged.messages.map(m => Buffer.from(m.getBody()).toString()), [ 'pull-1', 'pull-3', 'pull-4' ]);
    const none = await pull(5);
    assert.equal(none.status, def.Code.MESSAGE_NOT_FOUND);
    assert.equal(none.next, 5);

    const getOffset = () => rpc.call('getOffset',
      new pb.GetOffsetRequest().setGroup(resource(group)).setMessageQueue(queueOf(topic, q)));
    assert.equal((await getOffset()).getStatus().getCode(), def.Code.OFFSET_NOT_FOUND, 'nothing stored yet');
    const updated = await rpc.call('updateOffset',
      new pb.UpdateOffsetRequest().setGroup(resource(group)).setMessageQueue(queueOf(topic, q)).setOffset(3));
    assert.equal(updated.getStatus().getCode(), def.Code.OK);
    const stored = await getOffset();
    assert.equal(stored.getStatus().getCode(), def.Code.OK);
    assert.equal(stored.getOffset(), 3);
  } finally {
    rpc.close();
    await producer.shutdown();
  }
});

test('QueryAssignment names the whole broker, or each queue for a FIFO group; ForwardMessageToDeadLetterQueue',
  async () => {
    const topic = `GrpcDlq${RUN_ID}`;
    const group = `GrpcGroupDlq${RUN_ID}`;
    const producer = await newProducer([ topic ]);
    const sent = await producer.send({ topic, body: Buffer.from('to the DLQ') });
    const consumer = await newConsumer(group, new Map([ [ topic, '*' ] ]));
    const rpc = rpcOf(consumer);
    try {
      const assignment = async g => {
        const resp = await rpc.call('queryAssignment', new pb.QueryAssignmentRequest().setTopic(resource(topic))
          .setGroup(resource(g)).setEndpoints(new Endpoints(broker.endpoints).toProtobuf()));
        assert.equal(resp.getStatus().getCode(), def.Code.OK, resp.getStatus().getMessage());
        return resp.getAssignmentsList().map(a => a.getMessageQueue().getId());
      };
      assert.deepEqual(await assignment(group), [ -1 ]);
      assert.deepEqual(await assignment(ORDERLY_GROUP), [ 0, 1, 2, 3 ]);

      const [ m ] = await receiveUntil(consumer, g => g.length >= 1, 20000);
      assert.equal(m.messageId, sent.messageId);
      const forwarded = await rpc.call('forwardMessageToDeadLetterQueue',
        new pb.ForwardMessageToDeadLetterQueueRequest().setGroup(resource(group)).setTopic(resource(topic))
          .setReceiptHandle(m.receiptHandle).setMessageId(m.messageId).setDeliveryAttempt(1)
          .setMaxDeliveryAttempts(1));
      assert.equal(forwarded.getStatus().getCode(), def.Code.OK, forwarded.getStatus().getMessage());
      // In %DLQ%<group> now, and done for the group: its handle was acked.
      const dlq = `%DLQ%${group}`;
      // The DLQ's consume queue is built by the broker's dispatch, just after the forward is answered.
      let end;
      await waitFor(async () => {
        end = await rpc.call('queryOffset', new pb.QueryOffsetRequest().setMessageQueue(queueOf(dlq, 0))
          .setQueryOffsetPolicy(def.QueryOffsetPolicy.END));
        return end.getStatus().getCode() === def.Code.OK && end.getOffset() >= 1;
      }, 10000, 'the forwarded message in the DLQ').catch(() => {});
      assert.equal(end.getStatus().getCode(), def.Code.OK, end.getStatus().getMessage());
      assert.equal(end.getOffset(), 1, 'one message in the DLQ');
    } finally {
      rpc.close();
      await consumer.shutdown();
      await producer.shutdown();
    }
  });

test('the settings of a client are dropped on NotifyClientTermination', async () => {
  const topic = `GrpcBye${RUN_ID}`;
  const producer = await newProducer([ topic ]);
  const rpc = rpcOf(producer);
  try {
    const heartbeat = async () => (await rpc.call('heartbeat',
      new pb.HeartbeatRequest().setClientType(def.ClientType.PRODUCER))).getStatus().getCode();
    assert.equal(await heartbeat(), def.Code.OK, 'the producer is known by its settings');
    const bye = await rpc.call('notifyClientTermination', new pb.NotifyClientTerminationRequest());
    assert.equal(bye.getStatus().getCode(), def.Code.OK);
    assert.equal(await heartbeat(), def.Code.UNRECOGNIZED_CLIENT_TYPE, 'nothing is kept of it');
  } finally {
    rpc.close();
    await producer.shutdown();
  }
});
