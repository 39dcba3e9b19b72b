'use strict';

// End-to-end plain ACL (aclEnable) with ali-ons, which signs every request with accessKey/secretKey the way
// RocketMQ's AclClientRPCHook does. Run by tests/e2e/run_e2e.sh <broker> acl.test.js (CTest e2e_ali_ons_acl).
// Authentication failures from 127.0.0.1 are kept below the broker's throttling limit (10 per minute).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Producer, Consumer, Message } = require('ali-ons');
const MQProducer = require('ali-ons/lib/producer/mq_producer');
const MQClientAPI = require('ali-ons/lib/mq_client_api');
const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
const { BROKER, quietLogger, sleep, waitFor, withTimeout, startBroker, stopBroker } = require('./harness');

const RUN_ID = `${process.pid}x${Date.now() % 100000}`;
const GET_MAX_OFFSET = 30;
const SEND_MESSAGE_V2 = 310;
const NO_PERMISSION = 16;

const ADMIN = { accessKey: 'AclAdmin01', secretKey: 'admin-secret-1' };
const APP = { accessKey: 'AclApp0001', secretKey: 'app-secret-01' };
const TOPIC = `ACL_${RUN_ID}`;        // APP may PUB and SUB
const RO_TOPIC = `ACLRO_${RUN_ID}`;   // APP may only SUB
const LATE_TOPIC = `ACLLATE_${RUN_ID}`;  // granted later by editing the file

const noHttp = { request() { throw new Error('no http in tests'); } };

function aclYaml({ whiteAll = false, lateTopicPerm = 'DENY' } = {}) {
  return [
    'globalWhiteRemoteAddresses:',
    ...(whiteAll ? [ '  - 127.0.0.*' ] : []),
    'accounts:',
    `  - accessKey: ${ADMIN.accessKey}`,
    `    secretKey: ${ADMIN.secretKey}`,
    '    admin: true',
    `  - accessKey: ${APP.accessKey}`,
    `    secretKey: ${APP.secretKey}`,
    '    admin: false',
    '    defaultTopicPerm: DENY',
    '    defaultGroupPerm: SUB',
    '    topicPerms:',
    `      - ${TOPIC}=PUB|SUB`,
    `      - ${RO_TOPIC}=SUB`,
    `      - ${LATE_TOPIC}=${lateTopicPerm}`,
    '',
  ].join('\n');
}

function writeAtomically(file, text) {
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
}

async function newApi(nameSrv, keys) {
  const api = new MQClientAPI({ nameSrv, httpclient: noHttp, logger: quietLogger, ...keys });
  await api.ready();
  return api;
}

async function createTopic(api, brokerAddr, topic) {
  return api.createTopic(brokerAddr, 'TBW102', {
    topicName: topic, readQueueNums: 4, writeQueueNums: 4, perm: 6, topicFilterType: 'SINGLE_TAG',
    topicSysFlag: 0, order: false,
  }, 5000);
}

// One SEND_MESSAGE_V2 through the api's own send path; resolves to the MQClientException on failure.
async function rawSend(api, brokerAddr, topic, body) {
  const msg = new Message(topic, 'TagA', body);
  try {
    return await api.sendMessage(brokerAddr, 'broker-a', msg, {
      producerGroup: `PGRAW_${RUN_ID}`, topic, defaultTopic: 'TBW102', defaultTopicQueueNums: 4, queueId: 0,
      sysFlag: 0, bornTimestamp: Date.now(), flag: 0, properties: 'TAGS\u0001TagA\u0002', reconsumeTimes: 0,
      unitMode: false, maxReconsumeTimes: 16,
    }, 5000);
  } catch (err) {
    return err;
  }
}

function maxOffsetRequest(topic) {
  return RemotingCommand.createRequestCommand(GET_MAX_OFFSET, { topic, queueId: 0 });
}

test.after(async () => {
  if (MQProducer.defaultProducer) {
    await withTimeout(MQProducer.defaultProducer.close(), 5000, 'inner producer close').catch(() => {});
  }
  setTimeout(() => process.exit(0), 3000).unref();
});

test('plain ACL with ali-ons', { skip: !BROKER && 'THRUSTER_BROKER is not set' }, async t => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'thruster-e2e-acl-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const aclFile = path.join(tmp, 'plain_acl.yml');
  writeAtomically(aclFile, aclYaml());
  const broker = await startBroker({ storeDir: path.join(tmp, 'store'),
    extra: [ '--aclEnable=true', `--aclFile=${aclFile}` ] });
  t.after(() => stopBroker(broker));
  const { nameSrv, addr } = broker;

  const admin = await newApi(nameSrv, ADMIN);
  const app = await newApi(nameSrv, APP);
  const wrong = await newApi(nameSrv, { accessKey: APP.accessKey, secretKey: 'not-the-secret' });
  const anonymous = await newApi(nameSrv, {});

  await t.test('admin codes from a non-admin account are refused, from the admin account served', async () => {
    await assert.rejects(createTopic(app, addr, TOPIC), err => {
      assert.equal(err.code, NO_PERMISSION);
      assert.match(err.message, /Need admin permission for request code=17/);
      return true;
    });
    for (const topic of [ TOPIC, RO_TOPIC, LATE_TOPIC ]) await createTopic(admin, addr, topic);
    await sleep(300);  // the broker re-registers with its name server right after a topic change
  });

  await t.test('with the right keys a producer sends and a consumer consumes', async () => {
    const producer = new Producer({ nameSrv, httpclient: noHttp, producerGroup: `PG_${RUN_ID}`,
      logger: quietLogger, instanceName: 'PACL', ...APP });
    await producer.ready();
    const keys = [];
    try {
      for (let i = 0; i < 20; i++) {
        const msg = new Message(TOPIC, 'TagA', `acl-body-${i}`);
        msg.keys = [ `acl-${RUN_ID}-${i}` ];
        keys.push(msg.keys);
        const r = await producer.send(msg);
        assert.equal(r.sendStatus, 'SEND_OK');
      }
    } finally {
      await withTimeout(producer.close(), 5000, 'producer close').catch(() => {});
    }
    const consumer = new Consumer({ nameSrv, httpclient: noHttp, consumerGroup: `CG_${RUN_ID}`,
      logger: quietLogger, instanceName: 'CACL', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
      persistConsumerOffsetInterval: 1000, ...APP });
    const got = new Set();
    consumer.subscribe(TOPIC, '*', async msg => { got.add(msg.keys); });
    consumer.on('error', () => {});
    await consumer.ready();
    try {
      await waitFor(() => got.size >= keys.length, 60000, `${keys.length} deliveries (have ${got.size})`);
      assert.deepEqual([ ...got ].sort(), [ ...keys ].sort());
    } finally {
      await withTimeout(consumer.close(), 10000, 'consumer close').catch(() => {});
    }
  });

  await t.test('a wrong secret gets NO_PERMISSION', async () => {
    const err = await rawSend(wrong, addr, TOPIC, 'wrong-secret');
    assert.equal(err.code, NO_PERMISSION, String(err));
    assert.match(err.message, /Check signature failed for accessKey=AclApp0001/);
    assert.doesNotMatch(err.message, /not-the-secret|app-secret-01/);
    // One log line per refusal, with peer address and access key (stderr arrives asynchronously).
    await waitFor(() => /ACL refused code 310 from 127\.0\.0\.1 accessKey=AclApp0001: Check signature/
      .test(broker.log()), 5000, 'the refusal in the broker log');
    assert.doesNotMatch(broker.log(), /not-the-secret|app-secret-01/);
  });

  await t.test('a topic the account may only SUB cannot be sent to', async () => {
    const err = await rawSend(app, addr, RO_TOPIC, 'read-only');
    assert.equal(err.code, NO_PERMISSION, String(err));
    assert.match(err.message, new RegExp(`No PUB permission for topic:${RO_TOPIC}`));
    // ...while reading it is allowed.
    const r = await app.invoke(addr, maxOffsetRequest(RO_TOPIC), 5000);
    assert.equal(r.code, 0, r.remark);
  });

  await t.test('a tampered body or header fails the signature', async () => {
    const sign = cmd => app.getAndCreateChannel(addr).beforeRequest(cmd);
    const body = RemotingCommand.createRequestCommand(SEND_MESSAGE_V2, {
      a: `PG_${RUN_ID}`, b: TOPIC, c: 'TBW102', d: 4, e: 0, f: 0, g: Date.now(), h: 0,
      i: 'TAGS\u0001TagA\u0002', j: 0, k: false, l: 16, m: false,
    });
    body.body = Buffer.from('original');
    sign(body);
    body.body = Buffer.from('tampered');
    let r = await anonymous.invoke(addr, body, 5000);  // no keys: sent as signed above
    assert.equal(r.code, NO_PERMISSION);
    assert.match(r.remark, /Check signature failed/);

    const header = maxOffsetRequest(TOPIC);
    sign(header);
    header.customHeader.queueId = 1;
    r = await anonymous.invoke(addr, header, 5000);
    assert.equal(r.code, NO_PERMISSION);
    assert.match(r.remark, /Check signature failed/);
    // The same request left as signed passes.
    const intact = maxOffsetRequest(TOPIC);
    sign(intact);
    r = await anonymous.invoke(addr, intact, 5000);
    assert.equal(r.code, 0, r.remark);
  });

  await t.test('the name server refuses its admin writes to a non-admin account', async () => {
    const del = () => RemotingCommand.createRequestCommand(216, { topic: `NOSUCH_${RUN_ID}` });
    let r = await app.invoke(nameSrv, del(), 5000);
    assert.equal(r.code, NO_PERMISSION);
    assert.match(r.remark, /Need admin permission for request code=216/);
    r = await admin.invoke(nameSrv, del(), 5000);
    assert.equal(r.code, 0, r.remark);
    // Reads stay open (as RocketMQ's name server has them).
    r = await anonymous.invoke(nameSrv, RemotingCommand.createRequestCommand(105, { topic: TOPIC }), 5000);
    assert.equal(r.code, 0, r.remark);
  });

  await t.test('a changed plain_acl.yml takes effect without restart; a white-listed address needs no signature',
    async () => {
      let r = await anonymous.invoke(addr, maxOffsetRequest(TOPIC), 5000);
      assert.equal(r.code, NO_PERMISSION);
      assert.match(r.remark, /No accessKey is configured/);
      let err = await rawSend(app, addr, LATE_TOPIC, 'late');
      assert.equal(err.code, NO_PERMISSION);

      writeAtomically(aclFile, aclYaml({ lateTopicPerm: 'PUB' }));
      await waitFor(async () => (await rawSend(app, addr, LATE_TOPIC, 'late')).sendStatus === 'SEND_OK',
        20000, 'the new topic permission');

      writeAtomically(aclFile, aclYaml({ lateTopicPerm: 'PUB', whiteAll: true }));
      await waitFor(async () => (await anonymous.invoke(addr, maxOffsetRequest(TOPIC), 5000)).code === 0,
        20000, 'the global white list');
      err = await rawSend(anonymous, addr, TOPIC, 'unsigned but white-listed');
      assert.equal(err.sendStatus, 'SEND_OK', String(err));
    });

  // Clients first, so none of them is left reconnecting to a stopped broker.
  await Promise.all([ admin, app, wrong, anonymous ].map(
    api => withTimeout(api.close(), 5000, 'api close').catch(() => {})));
  if (MQProducer.defaultProducer) {
    await withTimeout(MQProducer.defaultProducer.close(), 5000, 'inner producer close').catch(() => {});
  }
  assert.equal(await stopBroker(broker), 0, 'clean shutdown');
});
